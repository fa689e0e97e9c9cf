"""Heat's stack routes as one table (fixtures/stack_routes/routes.yaml): method and path ->
status, and for errors Heat's error body with its type and message, as operator, as a server and
with no token."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.server.conftest import ADMIN

pytestmark = pytest.mark.timeout(120)
TABLE = yaml.safe_load((Path(__file__).parent / "fixtures" / "stack_routes" / "routes.yaml")
                       .read_text())
TEMPLATE = {"heat_template_version": "2018-08-31",
            "resources": {"v": {"type": "OS::Heat::Value", "properties": {"value": 1}}},
            "outputs": {"o": {"value": {"get_attr": ["v", "value"]}}}}


def _check(client, row: dict, fill: dict, tokens: dict) -> list[str]:
    path = "/v1/t1/" + row["path"].format(**fill)
    headers = {"X-Auth-Token": tokens[row.get("as", "admin")]} if row.get("as") != "nobody" else {}
    response = client.open(path, method=row["method"], headers=headers, json=row.get("body"))
    where = f"{row['method']} {path}"
    if response.status_code != row["status"]:
        return [f"{where}: {response.status_code}, expected {row['status']}: "
                f"{response.get_data(True)[:300]}"]
    problems = []
    if response.status_code >= 400:
        body = response.get_json()
        error = (body or {}).get("error") or {}
        if body.get("code") != row["status"]:
            problems.append(f"{where}: body code {body.get('code')}")
        if "type" in row and error.get("type") != row["type"]:
            problems.append(f"{where}: error type {error.get('type')!r}, expected {row['type']!r}")
        wanted = row.get("message", "").format(path=path.split("?")[0], **fill)
        if wanted and error.get("message") != wanted:
            problems.append(f"{where}: message {error.get('message')!r}, expected {wanted!r}")
    if "location" in row:
        wanted = "http://stoker.test/v1/t1/" + row["location"].format(**fill)
        if response.headers.get("Location") != wanted:
            problems.append(f"{where}: Location {response.headers.get('Location')}, "
                            f"expected {wanted}")
    return problems


def test_stack_routes_answer_as_the_table_says(app):
    client = app.test_client()
    admin = {"X-Auth-Token": ADMIN}
    created = client.post("/v1/t1/stacks", headers=admin,
                          json={"stack_name": "s", "template": TEMPLATE})
    assert created.status_code == 201, created.get_data(True)
    stack_id = created.get_json()["stack"]["id"]
    app.extensions["stoker-engine"].wait(stack_id, 30)
    server = client.post("/v1/t1/servers", headers=admin, json={"name": "vm"}).get_json()
    tokens = {"admin": ADMIN, "server": server["credential"]["token"]}
    fill = {"s": f"stacks/s/{stack_id}", "id": stack_id}
    problems = [p for row in TABLE for p in _check(client, row, fill, tokens)]
    assert not problems, "\n".join(problems)
