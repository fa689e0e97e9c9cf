"""The AWS resource types on the local driver, one case per fixture (tests/engine/fixtures/aws/
cases/*.yaml): a CFN template (and its `files`), then what must come out.

A case gives `outputs` (the stack's outputs, "*" for any value, "re:..." a pattern) or `error` (a text the refused
or failed create's message contains); optionally `cloud` (resource -> the driver object it made:
its `kind` and properties it must carry), `metadata` (resource -> its resource metadata), and
`update` (a new `template` with its own `outputs` and `cloud`). Every case is deleted at the
end and must leave no object in the local cloud.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from engine_helpers import ENDPOINTS, run
from metadata_server.engine.drivers import LocalDriver
from metadata_server.engine.stack import Engine
from metadata_server.service.clock import system_clock

CASES = sorted((Path(__file__).parent / "fixtures" / "aws" / "cases").glob("*.yaml"))
pytestmark = pytest.mark.timeout(60)


def same(expected, actual) -> bool:
    """Equal, except that "*" stands for any value and "re:<pattern>" for a matching text."""
    if expected == "*":
        return True
    if isinstance(expected, str) and expected.startswith("re:"):
        return isinstance(actual, str) and re.fullmatch(expected[3:], actual) is not None
    if isinstance(expected, dict):
        return (isinstance(actual, dict) and expected.keys() == actual.keys()
                and all(same(v, actual[k]) for k, v in expected.items()))
    if isinstance(expected, list):
        return (isinstance(actual, list) and len(expected) == len(actual)
                and all(same(e, a) for e, a in zip(expected, actual)))
    return expected == actual


def physical(engine, stack, name) -> str:
    row = engine.find_resource(stack["id"], name)
    assert row is not None, name
    return (row.get("data") or {}).get("cloud_id") or row["physical_id"]


def check(engine, driver, stack, expect) -> None:
    assert stack["status"] == "COMPLETE", stack["status_reason"]
    outputs = {o["output_key"]: o.get("output_value", o.get("output_error"))
               for o in engine.outputs(stack)}
    assert same(expect.get("outputs", {}), outputs), outputs
    for name, wanted in (expect.get("cloud") or {}).items():
        shown = driver.show(wanted["kind"], physical(engine, stack, name))
        assert shown is not None, name
        for key, value in wanted.get("properties", {}).items():
            assert same(value, shown.get(key)), (name, key, shown.get(key))
    for name, wanted in (expect.get("metadata") or {}).items():
        assert engine.resource_metadata(stack, name) == wanted


def left_in(driver: LocalDriver) -> list:
    return sorted(f"{r['kind']} {r['attributes'].get('name')}"
                  for r in driver._objects.values() if not r.get("implicit"))


@pytest.mark.parametrize("case", CASES, ids=[c.stem for c in CASES])
def test_aws_case(case, store):
    data = yaml.safe_load(case.read_text())
    driver = LocalDriver()
    engine = Engine(store, system_clock, driver=driver, endpoints=ENDPOINTS, poll_interval=0.02)
    try:
        body = {"stack_name": case.stem.replace("_", "-"), "template": data["template"],
                "files": data.get("files") or {}}
        if "error" in data:
            try:
                stack = run(engine, engine.create_stack("t1", body)["id"])
            except Exception as exc:  # refused before anything ran
                message = str(exc)
            else:
                assert stack["status"] == "FAILED", stack
                message = stack["status_reason"]
            assert data["error"] in message, message
            assert "Traceback" not in message
        else:
            stack = run(engine, engine.create_stack("t1", body)["id"])
            check(engine, driver, stack, data)
            if "update" in data:
                engine.update_stack("t1", stack["id"], {"template": data["update"]["template"],
                                                        "files": data.get("files") or {}})
                check(engine, driver, run(engine, stack["id"]), data["update"])
        for stack in engine.stacks.list_stacks("t1"):
            engine.delete_stack("t1", stack["id"])
            assert run(engine, stack["id"])["status"] == "COMPLETE"
        assert left_in(driver) == []
    finally:
        engine.close()
