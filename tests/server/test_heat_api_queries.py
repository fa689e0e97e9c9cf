"""Heat's catalog routes (resource types, template versions) as one table
(fixtures/heat_api/queries.yaml): filters, their bad values and the errors they get."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from metadata_server.api.type_schemas import NAME_PATTERN_MAX
from tests.server.conftest import ADMIN

pytestmark = pytest.mark.timeout(60)
TABLE = yaml.safe_load((Path(__file__).parent / "fixtures" / "heat_api" / "queries.yaml")
                       .read_text())


def _problems(client, row: dict) -> list[str]:
    path = "/v1/t1/" + row["path"].replace("LONG", "a" * (NAME_PATTERN_MAX + 1))
    response = client.get(path, headers={"X-Auth-Token": ADMIN})
    body = response.get_json() or {}
    where = f"GET {row['path']}"
    if response.status_code != row.get("status", 200):
        return [f"{where}: {response.status_code}: {response.get_data(True)[:300]}"]
    problems = []
    error = body.get("error") or {}
    if "type" in row and error.get("type") != row["type"]:
        problems.append(f"{where}: error type {error.get('type')!r}")
    if row.get("message", "") not in error.get("message", ""):
        problems.append(f"{where}: message {error.get('message')!r}")
    if "types" in row:
        listed = body["resource_types"]
        names = [t["resource_type"] if isinstance(t, dict) else t for t in listed]
        if names != row["types"]:
            problems.append(f"{where}: types {names}")
        if row.get("described") and not all(isinstance(t, dict) and t["description"]
                                             for t in listed):
            problems.append(f"{where}: no descriptions in {listed}")
    if "has" in row and set(body) != set(row["has"]):
        problems.append(f"{where}: keys {sorted(body)}")
    names = [f["functions"] for f in body.get("template_functions", [])]
    if "functions" in row and names != row["functions"]:
        problems.append(f"{where}: functions {names}")
    if set(row.get("has_functions", ())) - set(names):
        problems.append(f"{where}: functions {names}")
    if set(row.get("lacks_functions", ())) & set(names):
        problems.append(f"{where}: functions {names}")
    return problems


def test_catalog_queries_answer_as_the_table_says(app):
    client = app.test_client()
    problems = [p for row in TABLE for p in _problems(client, row)]
    assert not problems, "\n".join(problems)


def test_a_backtracking_name_pattern_is_stopped_not_run_to_the_end(app, monkeypatch):
    from metadata_server.api import type_schemas
    monkeypatch.setattr(type_schemas, "REGISTRY", {"a" * 40 + "!": object})
    monkeypatch.setattr(type_schemas, "PATTERN_SECONDS", 0.05)
    response = app.test_client().get("/v1/t1/resource_types?name=(a%7Caa)%2B$",
                                     headers={"X-Auth-Token": ADMIN})
    assert response.status_code == 400
    assert "took too long" in response.get_json()["error"]["message"]
