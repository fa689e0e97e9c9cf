"""The update preview and the update agree: one fixture per kind of template change, each run as
preview, then update; the preview's classification must be what the update then did (physical
ids and events), and what the fixture expects."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from metadata_server.service import signals
from metadata_server.service.clock import system_clock
from tests.waiting import until

pytestmark = pytest.mark.timeout(60)

CASES = sorted((Path(__file__).parent / "fixtures" / "plans").glob("*.yaml"))
KINDS = ("added", "updated", "replaced", "deleted", "unchanged")


def _settle(engine, store, stack_id: str) -> dict:
    """Wait for the operation's end, answering for the agent every deployment it waits on."""
    def done():
        for dep in store.list_deployments(tenant="t1"):
            if dep.status == "IN_PROGRESS":
                signals.signal_deployment(store, system_clock, dep.id,
                                          {"deploy_status_code": 0, "deploy_stdout": "ok"})
        stack = engine.stacks.get_stack(stack_id)
        return stack if stack["status"] != "IN_PROGRESS" else None
    until(done, 30, "the stack operation to end", pause=0.02)
    return engine.wait(stack_id, 30)


def _template(case: dict, key: str) -> dict:
    return {"heat_template_version": "2018-08-31", **case[key]}


def _body(case: dict, key: str) -> dict:
    """The request body: the template, plus `<key>_body` (parameters, files, environment)."""
    return {"template": _template(case, key), **(case.get(key + "_body") or {})}


def _what_happened(engine, stack_id, before: dict, events_before: int) -> dict[str, str]:
    stack = engine.stacks.get_stack(stack_id)
    after = {r["name"]: r for r in engine.resources(stack)}
    events = engine.events(stack)[events_before:]
    touched = {e["resource_name"] for e in events
               if e["action"] == "UPDATE" and e["status"] == "IN_PROGRESS"}
    verdicts = {}
    for name in set(before) | set(after):
        if name not in before:
            verdicts[name] = "added"
        elif name not in after:
            verdicts[name] = "deleted"
        elif after[name]["physical_id"] != before[name]["physical_id"]:
            verdicts[name] = "replaced"
        elif name in touched:
            verdicts[name] = "updated"
        else:
            verdicts[name] = "unchanged"
    return verdicts


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_preview_is_what_the_update_does(engine, store, path):
    case = yaml.safe_load(path.read_text())
    created = engine.create_stack("t1", {"stack_name": "plan", **_body(case, "old")})
    stack = _settle(engine, store, created["id"])
    assert stack["status"] == "COMPLETE", stack["status_reason"]
    before = {r["name"]: r for r in engine.resources(stack)}
    events_before = len(engine.events(stack))

    preview = engine.preview_update("t1", stack["id"], _body(case, "new"))
    planned = {r["resource_name"]: kind for kind in KINDS
               for r in preview["resource_changes"][kind]}
    engine.update_stack("t1", stack["id"], _body(case, "new"))
    stack = _settle(engine, store, stack["id"])
    assert (stack["action"], stack["status"]) == ("UPDATE", "COMPLETE"), stack["status_reason"]
    done = _what_happened(engine, stack["id"], before, events_before)

    assert planned == done, "the preview's plan is not what the update did"
    assert planned == case["expect"]
    outputs = {o["output_key"]: o["output_value"] for o in engine.outputs(stack)}
    assert outputs == case.get("expect_outputs", outputs)
    entries = {r["resource_name"]: r for kind in KINDS for r in preview["resource_changes"][kind]}
    for name, props in (case.get("expect_changes") or {}).items():
        assert entries[name].get("changes") == props, name
    for name, reasons in (case.get("expect_reasons") or {}).items():
        assert entries[name].get("reasons") == reasons, name
    for name, dependants in (case.get("expect_required_by") or {}).items():
        assert entries[name]["required_by"] == dependants, name
