"""OS::Heat::AutoScalingGroup and OS::Heat::ScalingPolicy on the engine's plugin fakes."""
from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta
from types import SimpleNamespace

import pytest

from metadata_server.engine.errors import StackValidationFailed
from metadata_server.engine.plugin_fakes import fake_context
from metadata_server.engine.resources.base import Forward
from metadata_server.engine.resources.scaling_group import AutoScalingGroup
from metadata_server.engine.resources.scaling_policy import ScalingPolicy
from metadata_server.engine.walker import CancelToken

pytestmark = pytest.mark.timeout(30)

MEMBER = {"type": "OS::Heat::TestResource", "properties": {"value": "m"}}


def group_props(**extra):
    raw = {"min_size": 1, "max_size": 3, "cooldown": 60, "resource": MEMBER, **extra}
    return AutoScalingGroup.validate_properties("asg", raw)


class Clock:
    def __init__(self):
        self.now = datetime(2026, 1, 1)

    def __call__(self):
        return self.now


def make_group(**extra):
    ctx = fake_context(stack_id=str(uuid.uuid4()))  # scaling state is kept per group
    ctx.clock = Clock()
    group = AutoScalingGroup("asg", ctx, group_props(**extra))
    group.handle_create(CancelToken())
    row = {"name": "asg", "status": "COMPLETE", "physical_id": group.physical_id,
           "data": dict(group.data)}
    ctx.finder.rows[ctx.stack_id] = {"asg": row}
    stored(group, row)
    return ctx, group


def stored(group, row):
    """The group's checkpoints write its row, as the engine's do."""
    group.checkpoint = lambda: row.update(data=json.loads(json.dumps(group.data)))


def child_members(ctx, group):
    return json.loads(ctx.children.children[group.physical_id].definition["template"])["resources"]


def test_create_makes_the_initial_members_and_starts_the_cooldown():
    ctx, group = make_group(desired_capacity=2)
    members = child_members(ctx, group)
    assert list(members) == group.data["members"] and len(members) == 2
    assert all(len(n) == 12 for n in members) and list(members.values()) == [MEMBER, MEMBER]
    assert group.attribute("current_size") == 2
    assert "cooldown until" in group.adjust(1, "change_in_capacity", None, None, "policy p")
    assert len(child_members(ctx, group)) == 2  # refused: nothing changed


@pytest.mark.parametrize("raw, message", [
    ({"min_size": 3, "max_size": 2}, "MinSize can not be greater than MaxSize"),
    ({"min_size": -1}, "out of range"),
    ({"desired_capacity": 5}, "DesiredCapacity must be between MinSize and MaxSize"),
    ({"resource": {"properties": {}}}, "Property type not assigned"),
    ({"rolling_updates": {"max_batch_size": 0}}, "out of range (min: 1)"),
    ({"rolling_updates": {"min_in_service": -1}}, "out of range (min: 0)"),
    ({"rolling_updates": {"pause_time": -5}}, "out of range (min: 0)"),
    ({"rolling_updates": {"pause": 5}}, "Unknown Property pause"),
])
def test_validation(raw, message):
    with pytest.raises(StackValidationFailed, match=message.replace("(", r"\(").replace(")", r"\)")):
        group_props(**raw)


def test_adjust_grows_and_stays_within_bounds():
    ctx, group = make_group()
    ctx.clock.now += timedelta(seconds=61)
    first = group.data["members"][0]
    reason = group.adjust(5, "change_in_capacity", None, 0, "policy up")
    assert reason == "Scaled from 1 to 3 (policy up, change_in_capacity : 5)"
    names = list(child_members(ctx, group))
    assert names[0] == first and len(names) == 3 and group.attribute("current_size") == 3
    assert "resizing" not in group.data and not ctx.children.busy
    ctx.clock.now += timedelta(seconds=61)
    assert group.adjust(1, "change_in_capacity", None, 0, "policy up") == (
        "Scaling refused (policy up): no change in size (3)")


def test_shrinking_removes_failed_members_first_then_the_oldest():
    ctx, group = make_group(desired_capacity=3, max_size=4)
    oldest, middle, newest = group.data["members"]
    ctx.finder.rows[group.physical_id] = {newest: {"name": newest, "status": "FAILED"}}
    assert group.attribute("current_size") == 2
    assert group.attribute("refs") == [None, None, None]
    assert group._ordered() == [newest, oldest, middle]
    ctx.clock.now += timedelta(seconds=61)
    assert group.adjust(-1, "change_in_capacity", None, 0, "p").startswith("Scaled from 2 to 1")
    assert list(child_members(ctx, group)) == [middle]


def test_cooldown_of_the_group_ends_and_policy_cooldown_is_stored():
    ctx, group = make_group()
    ctx.clock.now += timedelta(seconds=61)
    assert group.adjust(1, "change_in_capacity", None, 300, "p").startswith("Scaled")
    ctx.clock.now += timedelta(seconds=299)
    assert "cooldown until" in group.adjust(1, "change_in_capacity", None, 0, "p")
    ctx.clock.now += timedelta(seconds=2)
    assert group.adjust(1, "change_in_capacity", None, 0, "p").startswith("Scaled from 2 to 3")


def test_a_group_not_complete_refuses():
    ctx, group = make_group()
    ctx.finder.rows[ctx.stack_id]["asg"]["status"] = "IN_PROGRESS"
    assert "the group is None_IN_PROGRESS" in group.adjust(1, "exact_capacity", None, 0, "p")


def recording(ctx):
    """Every nested update the group makes: its members' values, in member order."""
    seen = []
    update = ctx.children.update_child

    def record(child_id, definition, token, claimed=None):
        members = json.loads(definition["template"])["resources"]
        seen.append({n: m["properties"]["value"] for n, m in members.items()})
        update(child_id, definition, token, claimed)
    ctx.children.update_child = record
    return seen


def new_member(value="n"):
    return {"type": "OS::Heat::TestResource", "properties": {"value": value}}


def test_update_keeps_the_size_and_member_names_and_rolls_in_batches():
    ctx, group = make_group(desired_capacity=2)
    ctx.clock.now += timedelta(seconds=61)
    group.adjust(1, "change_in_capacity", None, 0, "p")
    a, b, c = names = list(group.data["members"])
    seen = recording(ctx)
    props = group_props(resource=new_member(), desired_capacity=None)
    group.handle_update(props, {"resource", "desired_capacity"}, CancelToken())
    # one member per batch, oldest first, in place; then the size (unchanged)
    assert seen == [{a: "n", b: "m", c: "m"}, {a: "n", b: "n", c: "m"},
                    {a: "n", b: "n", c: "n"}, {a: "n", b: "n", c: "n"}]
    assert list(child_members(ctx, group)) == names
    assert not {"older", "outdated", "rolling_target"} & set(group.data)


def test_min_in_service_grows_the_group_during_the_update_and_shrinks_it_back():
    ctx, group = make_group(desired_capacity=3)
    a, b, c = group.data["members"]
    seen = recording(ctx)
    rolling = {"min_in_service": 3, "max_batch_size": 1}
    group.handle_update(group_props(resource=new_member(), desired_capacity=3,
                                    rolling_updates=rolling),
                        {"resource", "rolling_updates"}, CancelToken())
    extra = next(n for n in seen[0] if n not in (a, b, c))
    # Heat's plan for 3 members, 3 in service, batches of 1: (4, 1) x3, then (3, 0)
    assert seen[:4] == [{a: "m", b: "m", c: "m", extra: "n"},
                        {a: "n", b: "m", c: "m", extra: "n"},
                        {a: "n", b: "n", c: "m", extra: "n"},
                        {a: "n", b: "n", extra: "n"}]
    assert group.data["members"] == [a, b, extra] and group.attribute("current_size") == 3


def paused(group, batches_done, seen):
    from tests.waiting import until
    until(lambda: len(seen) == batches_done and group.data.get("paused_until"), 10,
          f"the pause after batch {batches_done}")


def test_pause_time_waits_on_the_engine_clock_between_batches():
    import threading
    ctx, group = make_group(desired_capacity=2, max_size=3)
    seen = recording(ctx)
    props = group_props(resource=new_member(), desired_capacity=2,
                        rolling_updates={"max_batch_size": 1, "pause_time": 30})
    updating = threading.Thread(target=group.handle_update,
                                args=(props, {"resource"}, CancelToken()))
    updating.start()
    paused(group, 1, seen)
    ctx.clock.now += timedelta(seconds=29)
    updating.join(0.2)  # bounded look: still pausing a second before its end
    assert updating.is_alive() and len(seen) == 1
    ctx.clock.now += timedelta(seconds=1)
    updating.join(10)
    assert not updating.is_alive() and len(seen) == 3  # two batches, then the size
    assert "paused_until" not in group.data


def test_a_cancel_ends_the_pause():
    import threading

    from metadata_server.engine.errors import Cancelled
    ctx, group = make_group(desired_capacity=2, max_size=3)
    seen = recording(ctx)
    props = group_props(resource=new_member(), desired_capacity=2,
                        rolling_updates={"pause_time": 3600})
    token, failures = CancelToken(), []

    def update():
        try:
            group.handle_update(props, {"resource"}, token)
        except Cancelled as exc:
            failures.append(exc)
    updating = threading.Thread(target=update)
    updating.start()
    paused(group, 1, seen)
    token.cancel("cancelled")
    updating.join(10)
    assert not updating.is_alive() and len(failures) == 1 and len(seen) == 1


def test_pauses_longer_than_the_stack_timeout_fail_at_once():
    ctx, group = make_group(desired_capacity=3)
    seen = recording(ctx)
    props = group_props(resource=new_member(), desired_capacity=3,
                        rolling_updates={"pause_time": 60})
    with pytest.raises(StackValidationFailed, match="will result in stack update timeout"):
        group.handle_update(props, {"resource"}, CancelToken(timeout=100))
    assert seen == []


def test_outputs_and_outputs_list_follow_member_order():
    ctx, group = make_group(desired_capacity=2)
    a, b = group.data["members"]
    child = ctx.children.children[group.physical_id]
    child.members = {a: {None: "ref-a", "output": "A"}, b: {None: "ref-b", "output": "B"}}
    assert group.attribute_at("outputs", ("output",)) == {a: "A", b: "B"}
    assert group.attribute_at("outputs_list", ("output",)) == ["A", "B"]
    assert group.attribute("refs_map") == {a: "ref-a", b: "ref-b"}
    assert group.attribute("refs") == ["ref-a", "ref-b"]


def test_policy_forwards_to_its_group_with_heats_reason():
    ctx = fake_context()
    props = ScalingPolicy.validate_properties("up", {
        "auto_scaling_group_id": "grp-id", "adjustment_type": "change_in_capacity",
        "scaling_adjustment": 1, "cooldown": 30})
    policy = ScalingPolicy("up", ctx, props)
    assert policy.attribute("alarm_url") is None
    policy.handle_create(CancelToken())
    assert "/resources/up/signal?sig=" in policy.attribute("alarm_url")
    assert policy.attribute("signal_url").endswith("/resources/up/signal")
    forward = policy.handle_signal({"previous": "ok", "current": "alarm", "reason": "hot"})
    assert isinstance(forward, Forward) and forward.target == "grp-id"
    assert forward.reason == "alarm state changed from ok to alarm (hot)"
    calls = []

    class Group:
        def adjust(self, *args):
            calls.append(args)
            return "done"
    forward.check(Group())
    with pytest.raises(StackValidationFailed, match="not a group that policies scale"):
        forward.check(object())
    assert forward.call(Group()) == "done"
    assert calls == [(1, "change_in_capacity", None, 30, "policy up")]
    assert policy.handle_signal(None).reason == "No signal details provided"


def test_min_adjustment_step_only_with_percent():
    with pytest.raises(StackValidationFailed, match="only be specified"):
        ScalingPolicy.validate_properties("up", {
            "auto_scaling_group_id": "g", "adjustment_type": "change_in_capacity",
            "scaling_adjustment": 1, "min_adjustment_step": 2})


def test_the_tree_limits_hold_for_the_largest_group(app):
    """Policies grow a group without a stack operation that would count the tree again: a
    max_size beyond max_resources_per_stack is refused when the stack is created."""
    from engine_helpers import ADMIN, hot
    client = app.test_client()
    client.environ_base["HTTP_X_AUTH_TOKEN"] = ADMIN
    template = hot({"asg": {"type": "OS::Heat::AutoScalingGroup", "properties": {
        "min_size": 1, "max_size": 5000, "resource": MEMBER}}})
    answer = client.post("/v1/t1/stacks", json={"stack_name": "big", "template": template})
    assert answer.status_code == 400, answer.json
    assert "max_resources_per_stack" in answer.json["error"]["message"]


def test_a_signal_loaded_before_the_previous_one_sees_the_state_it_stored():
    """Each signal loads the stack afresh, maybe on another engine: the second one's copy of
    the group predates the first one's resize, yet it starts from the members and cooldown the
    first one stored."""
    ctx, group = make_group()
    ctx.clock.now += timedelta(seconds=61)
    stale = AutoScalingGroup("asg", ctx, group.properties, group.physical_id, dict(group.data))
    stored(stale, ctx.finder.rows[ctx.stack_id]["asg"])
    assert group.adjust(1, "change_in_capacity", None, 300, "p").startswith("Scaled from 1 to 2")
    assert "cooldown until" in stale.adjust(1, "change_in_capacity", None, 0, "p")
    assert stale.data["members"] == group.data["members"]
    ctx.clock.now += timedelta(seconds=301)
    assert stale.adjust(1, "change_in_capacity", None, 0, "p").startswith("Scaled from 2 to 3")
    assert stale.data["members"][:2] == group.data["members"]
    assert not ctx.children.busy  # every claim given back or used


def test_a_stack_update_waits_for_a_running_resize_and_starts_from_its_result():
    import threading
    ctx, group = make_group()
    row = ctx.finder.rows[ctx.stack_id]["asg"]
    ctx.children.busy.add(group.physical_id)  # a resize on some engine holds the group
    stale = AutoScalingGroup("asg", ctx, group.properties, group.physical_id, dict(group.data))
    updating = threading.Thread(target=stale.handle_update,
                                args=(group.properties, set(), CancelToken(30)))
    updating.start()
    updating.join(0.3)  # bounded look: it must still be waiting for the resize
    assert updating.is_alive() and ("update", group.physical_id) not in ctx.children.calls
    # the resize stores its result, then its nested update ends (the claim goes)
    row["data"] = dict(row["data"], members=group.data["members"] + ["later0000000"])
    ctx.children.busy.discard(group.physical_id)
    updating.join(10)
    assert ("update", group.physical_id) in ctx.children.calls
    assert stale.data["members"][-1] == "later0000000" and len(stale.data["members"]) == 2


def test_a_signal_while_the_group_is_busy_is_refused_at_once():
    ctx, group = make_group(cooldown=0)
    ctx.children.busy.add(group.physical_id)
    assert group.adjust(1, "change_in_capacity", None, 0, "p") == (
        "Scaling refused (p): a scaling of the group is already running")
    ctx.children.busy.discard(group.physical_id)
    assert group.adjust(1, "change_in_capacity", None, 0, "p").startswith("Scaled from 1 to 2")


def test_a_refused_signal_gives_its_claim_back():
    ctx, group = make_group()
    assert "cooldown until" in group.adjust(1, "change_in_capacity", None, None, "p")
    assert not ctx.children.busy


def test_opt_in_cooldown_lasts_until_the_new_members_deployments_finish():
    ctx, group = make_group(cooldown=3600, cooldown_until_deployed=True)
    deployments = {}

    class Deployments:  # the store's deployments, by server
        def list_deployments(self, tenant, server_id=None):
            return [SimpleNamespace(status=deployments.get(server_id, "COMPLETE"))]
    ctx.store = Deployments()
    child = ctx.children.children[group.physical_id]
    # no fixed cooldown: the group's 3600 s do not hold it back
    assert group.adjust(1, "change_in_capacity", None, None, "p").startswith("Scaled from 1 to 2")
    new = group.data["awaiting"]
    assert len(new) == 1 and new[0] == group.data["members"][-1]
    child.members = {name: {None: f"server-{name}"} for name in group.data["members"]}
    deployments[f"server-{new[0]}"] = "IN_PROGRESS"
    assert group.adjust(1, "change_in_capacity", None, None, "p") == (
        "Scaling refused (p): the members the last scaling added have deployments in "
        f"progress: {new[0]}")
    deployments[f"server-{new[0]}"] = "FAILED"
    assert group.adjust(1, "change_in_capacity", None, None, "p").startswith("Scaled from 2 to 3")
    # a scaling that added nobody has nothing to wait for: the fixed cooldown holds after it
    assert group.adjust(-1, "change_in_capacity", None, 60, "p").startswith("Scaled from 3 to 2")
    assert "cooldown until" in group.adjust(-1, "change_in_capacity", None, 60, "p")
