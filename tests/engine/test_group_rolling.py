"""ResourceGroup's rolling update: Heat's batches for a group named by index (one fixture row
per case), and the group running them one nested update after another."""
from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

from metadata_server.engine.errors import StackValidationFailed
from metadata_server.engine.plugin_fakes import fake_context
from metadata_server.engine.resources.group_rolling import plan
from metadata_server.engine.resources.groups import ResourceGroup
from metadata_server.engine.walker import CancelToken
from restart_helpers import clock, engines  # noqa: F401

CASES = yaml.safe_load((Path(__file__).parent / "fixtures/scaling/group_rolling.yaml")
                       .read_text())


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_batches(case):
    _, target, size, batch_size, min_in_service, expected = case
    names = [str(i) for i in range(1, size + 1)]
    got = plan(lambda n: [str(i) for i in range(1, n + 1)], dict.fromkeys(names, False),
               target, batch_size, min_in_service)
    assert [(s, new, sorted(u, key=int)) for s, new, u, _ in got] == [
        (s, new, sorted(u, key=int)) for s, new, u in expected]
    assert got[-1][3] == [str(i) for i in range(1, target + 1)]


def group(value: str, count: int, rolling: dict | None):
    ctx = fake_context()
    props = ResourceGroup.validate_properties("rg", {"count": count, "resource_def": {
        "type": "OS::Heat::TestResource", "properties": {"value": f"{value}-%index%"}}})
    policy = {"rolling_update": rolling} if rolling is not None else {}
    return ResourceGroup("rg", ctx, props, definition=SimpleNamespace(update_policy=policy))


def updates(ctx, child_id):
    seen = []
    update = ctx.children.update_child

    def record(child, definition, token, claimed=None):
        members = json.loads(definition["template"])["resources"]
        seen.append({n: m["properties"]["value"] for n, m in members.items()})
        update(child, definition, token, claimed)
    ctx.children.update_child = record
    return seen


def test_the_group_runs_its_batches_one_nested_update_each():
    rg = group("a", 2, {"max_batch_size": 1, "min_in_service": 2})
    rg.handle_create(CancelToken())
    seen = updates(rg.ctx, rg.physical_id)
    new = group("b", 2, {"max_batch_size": 1, "min_in_service": 2}).properties
    rg.handle_update(new, {"resource_def"}, CancelToken())
    assert seen == [{"0": "a-0", "1": "a-1", "2": "b-2"},   # one more, so two stay in service
                    {"0": "a-0", "1": "b-1", "2": "b-2"},   # the highest index first
                    {"0": "b-0", "1": "b-1", "2": "b-2"},
                    {"0": "b-0", "1": "b-1"},               # back to the count
                    {"0": "b-0", "1": "b-1"}]               # the group as its properties say


def test_without_the_policy_every_member_is_updated_at_once():
    rg = group("a", 3, None)
    rg.handle_create(CancelToken())
    seen = updates(rg.ctx, rg.physical_id)
    rg.handle_update(group("b", 3, None).properties, {"resource_def"}, CancelToken())
    assert seen == [{"0": "b-0", "1": "b-1", "2": "b-2"}]


def test_pause_time_waits_on_the_clock_and_a_cancel_ends_it():
    import threading

    from metadata_server.engine.errors import Cancelled
    rg = group("a", 2, {"max_batch_size": 1, "pause_time": 600})
    rg.handle_create(CancelToken())
    seen = updates(rg.ctx, rg.physical_id)
    token, failed = CancelToken(), []

    def update():
        try:
            rg.handle_update(group("b", 2, None).properties, {"resource_def"}, token)
        except Cancelled as exc:
            failed.append(exc)
    running = threading.Thread(target=update)
    running.start()
    running.join(0.3)  # bounded look: the clock does not move, so it pauses after batch 1
    assert running.is_alive() and len(seen) == 1
    token.cancel("cancelled")
    running.join(10)
    assert failed and len(seen) == 1


@pytest.mark.parametrize("rolling, message", [
    ({"max_batch_size": 0}, "out of range (min: 1)"),
    ({"min_in_service": -1}, "out of range (min: 0)"),
    ({"pause_time": "later"}, "not a duration"),
])
def test_bad_policy_values_name_their_key(rolling, message):
    rg = group("a", 2, rolling)
    rg.handle_create(CancelToken())
    with pytest.raises(StackValidationFailed, match="update_policy.rolling_update.") as caught:
        rg.handle_update(group("b", 2, None).properties, {"resource_def"}, CancelToken())
    assert message in str(caught.value)


def test_on_the_engine_members_updated_in_place_keep_their_ids(engines, clock):
    from engine_helpers import hot, run, wait_for

    def template(value):
        return {"stack_name": "rg", "template": hot({"rg": {
            "type": "OS::Heat::ResourceGroup",
            "update_policy": {"rolling_update": {"max_batch_size": 1, "min_in_service": 2,
                                                 "pause_time": 30}},
            "properties": {"count": 2, "resource_def": {
                "type": "OS::Heat::TestResource", "properties": {"value": value}}}}},
            {"refs": {"value": {"get_attr": ["rg", "refs_map"]}}})}
    engine = engines()
    stack = engine.create_stack("t1", template("a"))
    run(engine, stack["id"])

    def members():
        rows = engine.stacks.resources(engine.find_resource(stack["id"], "rg")["physical_id"])
        return {r["name"]: r for r in rows if not r.get("replaced_by")}
    before = members()
    engine.update_stack("t1", stack["id"], {"template": template("b")["template"]})
    wait_for(lambda: len(members()) == 3, what="the extra member that keeps two in service")

    def moved_on():  # the clock moves only here: each look lets a pause end
        clock.advance(30)
        return engine.stacks.get_stack(stack["id"])["status"] != "IN_PROGRESS"
    wait_for(moved_on, what="the update's end")
    row = run(engine, stack["id"])
    assert (row["action"], row["status"]) == ("UPDATE", "COMPLETE"), row["status_reason"]
    after = members()
    assert sorted(after) == ["0", "1"]
    assert all(after[n]["properties"]["value"] == "b" for n in after)
    assert all(after[n]["physical_id"] == before[n]["physical_id"] for n in after)
