"""stoker's own alarm evaluator against the app: an alarm of a stack sees its servers' samples,
changes state as Aodh would, calls its policy's alarm URL in-process, and the group scales; the
state changes are stack events. Also: fairness of a tick, one evaluation per round across
processes, HTTP actions and what refuses them, and the gauges on /metrics."""
from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from metadata_server.api.alarm_actions import ActionCaller
from metadata_server.service.alarm_evaluator import AlarmEvaluator, EvaluatorOptions
from metadata_server.service.metric_samples import epoch
from metadata_server.store.alarms import AlarmStore
from tests.server.conftest import api, app  # noqa: F401
from tests.waiting import until

pytestmark = pytest.mark.timeout(60)
BASE = "http://stoker.test"


def template(alarm_type="OS::Aodh::Alarm", **alarm):
    if alarm_type == "OS::Aodh::Alarm":
        rule = {"meter_name": "cpu_util", "statistic": "avg", "period": 60,
                "evaluation_periods": 1, "threshold": 50, "comparison_operator": "gt",
                "matching_metadata": {"metadata.user_metadata.stack": {"get_param": "OS::stack_id"}}}
    elif alarm_type == "OS::Aodh::GnocchiResourcesAlarm":
        rule = {"metric": "cpu_util", "aggregation_method": "mean", "granularity": 60,
                "evaluation_periods": 1, "threshold": 50, "comparison_operator": "gt",
                "resource_type": "instance", "resource_id": {"get_resource": "vm"}}
    else:
        rule = {"metric": "cpu_util", "aggregation_method": "mean", "granularity": 60,
                "evaluation_periods": 1, "threshold": 50, "comparison_operator": "gt",
                "resource_type": "instance",
                "query": {"str_replace": {"template": '{"=": {"server_group": "SID"}}',
                                          "params": {"SID": {"get_param": "OS::stack_id"}}}}}
    return {"heat_template_version": "2018-08-31", "resources": {
        "vm": {"type": "OS::Heat::DeployedServer", "properties": {"metadata": {
            "metering.stack": {"get_param": "OS::stack_id"},
            "metering.server_group": {"get_param": "OS::stack_id"}}}},
        "stranger": {"type": "OS::Heat::DeployedServer",
                     "properties": {"metadata": {"metering.stack": "another"}}},
        "asg": {"type": "OS::Heat::AutoScalingGroup", "properties": {
            "min_size": 1, "max_size": 3, "cooldown": 0,
            "resource": {"type": "OS::Heat::Value", "properties": {"value": 1}}}},
        "up": {"type": "OS::Heat::ScalingPolicy", "properties": {
            "auto_scaling_group_id": {"get_resource": "asg"}, "scaling_adjustment": 1,
            "adjustment_type": "change_in_capacity", "cooldown": 0}},
        "down": {"type": "OS::Heat::ScalingPolicy", "properties": {
            "auto_scaling_group_id": {"get_resource": "asg"}, "scaling_adjustment": -1,
            "adjustment_type": "change_in_capacity", "cooldown": 0}},
        "high": {"type": alarm_type, "properties": {
            **rule, "alarm_actions": [{"get_attr": ["up", "alarm_url"]}],
            "ok_actions": ["down"], **alarm}}},
        "outputs": {"size": {"value": {"get_attr": ["asg", "current_size"]}}}}


def create(app, api, name, tmpl, tenant="t1") -> dict:
    answer = api.post(f"/v1/{tenant}/stacks", {"stack_name": name, "template": tmpl})
    assert answer.status_code == 201, answer.json
    stack = app.extensions["stoker-engine"].wait(answer.json["stack"]["id"], 30)
    assert stack["status"] == "COMPLETE", stack["status_reason"]
    return stack


def resource_id(app, stack, name):
    return app.extensions["stoker-engine"].find_resource(stack["id"], name)["physical_id"]


def size(app, stack) -> int:
    engine = app.extensions["stoker-engine"]
    return {o["output_key"]: o["output_value"] for o in engine.outputs(stack)}["size"]


def send(api, server_id, clock, value, ago=5.0, tenant="t1"):
    now = epoch(lambda: clock.now)
    answer = api.post(f"/v1/{tenant}/servers/{server_id}/metrics",
                      {"samples": [{"time": now - ago, "metrics": {"cpu_util": value}}]})
    assert answer.status_code == 202, answer.json


def evaluator(app, clock, **options) -> AlarmEvaluator:
    store = app.extensions["stoker"].store
    return AlarmEvaluator(store.engine, clock, ActionCaller(app, lambda: [BASE]),
                          EvaluatorOptions(**options))


def scaled(app, stack, count: int) -> str:
    """The group's `count`-th SIGNAL event (a resize's end), once it is recorded: the next
    signal is only taken once the previous resize has ended."""
    engine = app.extensions["stoker-engine"]

    def events():
        found = [e["status_reason"] for e in engine.events(stack)
                 if e["resource_name"] == "asg" and e["action"] == "SIGNAL"]
        return found if len(found) >= count else None
    return until(events, 10, f"the group's signal event {count}")[count - 1]


def alarm_events(app, stack) -> list[str]:
    engine = app.extensions["stoker-engine"]
    return [e["status_reason"] for e in engine.events(stack) if e["resource_name"] == "high"
            and e["action"] == "SIGNAL"]


@pytest.mark.parametrize("alarm_type", ["OS::Aodh::Alarm",
                                        "OS::Aodh::GnocchiAggregationByResourcesAlarm",
                                        "OS::Aodh::GnocchiResourcesAlarm"])
def test_load_above_the_threshold_scales_the_group_out_and_back(app, api, clock, alarm_type):
    stack = create(app, api, f"s-{uuid.uuid4().hex[:6]}", template(alarm_type))
    vm, stranger = resource_id(app, stack, "vm"), resource_id(app, stack, "stranger")
    judge = evaluator(app, clock)
    send(api, stranger, clock, 99.0)           # not matched: no data yet
    assert judge.tick() == 1
    assert AlarmStore(app.extensions["stoker"].store.engine).get(
        resource_id(app, stack, "high"))["state"] == "insufficient data"
    assert alarm_events(app, stack) == []      # no change from the initial state
    send(api, vm, clock, 90.0)
    clock.now += timedelta(seconds=61)
    assert judge.tick() == 1
    assert judge.wait_for_actions(10)
    assert scaled(app, stack, 1).startswith("Scaled from 1 to 2 (policy up")
    assert size(app, stack) == 2
    reasons = alarm_events(app, stack)
    assert len(reasons) == 1 and reasons[0].startswith(
        "alarm state changed from insufficient data to alarm (Transition to alarm due to 1 "
        "samples outside threshold, most recent: 90.0); calling 1 alarm_actions"), reasons
    assert "[1 servers matched]" in reasons[0]
    # Heat's default repeat_actions: still in alarm, the policy is called again
    send(api, vm, clock, 95.0)
    clock.now += timedelta(seconds=61)
    assert judge.tick() == 1 and judge.wait_for_actions(10)
    assert scaled(app, stack, 2).startswith("Scaled from 2 to 3 (policy up")
    assert len(alarm_events(app, stack)) == 1  # remaining in a state is not a change
    # load falls: ok, and ok_actions names the scale-down policy by resource name
    send(api, vm, clock, 10.0)
    clock.now += timedelta(seconds=61)
    assert judge.tick() == 1 and judge.wait_for_actions(10)
    assert scaled(app, stack, 3).startswith("Scaled from 3 to 2 (policy down")
    assert alarm_events(app, stack)[-1].startswith(
        "alarm state changed from alarm to ok (Transition to ok due to 1 samples inside "
        "threshold, most recent: 10.0)")
    # the policy's own signal event says which alarm transition drove it
    engine = app.extensions["stoker-engine"]
    policy_events = [e["status_reason"] for e in engine.events(stack) if e["resource_name"] == "up"]
    assert any("alarm state changed from insufficient data to alarm" in r for r in policy_events)
    # no data for longer than the window: insufficient data again
    clock.now += timedelta(seconds=300)
    assert judge.tick() == 1
    assert alarm_events(app, stack)[-1].startswith(
        "alarm state changed from ok to insufficient data (1 datapoints are unknown)")
    metrics = api.get("/metrics").get_data(True)
    assert "stoker_metric_samples_received_total" in metrics


def test_a_disabled_or_suspended_alarm_is_not_evaluated(app, api, clock):
    stack = create(app, api, f"s-{uuid.uuid4().hex[:6]}", template(enabled=False))
    judge = evaluator(app, clock)
    send(api, resource_id(app, stack, "vm"), clock, 90.0)
    assert judge.tick() == 0
    stack = create(app, api, f"s-{uuid.uuid4().hex[:6]}", template())
    engine = app.extensions["stoker-engine"]
    engine.suspend_stack("t1", stack["id"])
    assert engine.wait(stack["id"], 30)["status"] == "COMPLETE"
    clock.now += timedelta(seconds=61)
    assert judge.tick() == 0
    engine.resume_stack("t1", stack["id"])
    assert engine.wait(stack["id"], 30)["status"] == "COMPLETE"
    assert judge.tick() == 1


def test_an_alarm_outside_its_time_constraints_is_skipped(app, api, clock):
    hour = (clock.now.hour + 12) % 24   # a one-hour window half a day away
    stack = create(app, api, f"s-{uuid.uuid4().hex[:6]}", template(time_constraints=[
        {"name": "later", "start": f"0 {hour} * * *", "duration": 3600}]))
    judge = evaluator(app, clock)
    send(api, resource_id(app, stack, "vm"), clock, 90.0)
    assert judge.tick() == 1
    row = AlarmStore(app.extensions["stoker"].store.engine).get(resource_id(app, stack, "high"))
    assert row["state"] == "insufficient data" and row["evaluated_at"] is not None
    assert alarm_events(app, stack) == []


def test_deleting_the_stack_removes_its_alarm(app, api, clock):
    stack = create(app, api, f"s-{uuid.uuid4().hex[:6]}", template())
    alarm_id = resource_id(app, stack, "high")
    alarms = AlarmStore(app.extensions["stoker"].store.engine)
    assert alarms.get(alarm_id)["body"]["threshold_rule"]["query"] == [
        {"field": "metadata.user_metadata.stack", "op": "eq", "value": stack["id"]}]
    engine = app.extensions["stoker-engine"]
    engine.delete_stack("t1", stack["id"])
    engine.wait(stack["id"], 30)
    assert alarms.get(alarm_id) is None
    # an alarm whose stack went without deleting it (abandoned, purged) is pruned
    other = create(app, api, f"s-{uuid.uuid4().hex[:6]}", template())
    kept = resource_id(app, other, "high")
    orphan = {k: v for k, v in alarms.get(kept).items() if k in (
        "tenant", "resource_name", "resource_type", "body", "enabled", "next_at", "created_at")}
    alarms.put(dict(orphan, id=str(uuid.uuid4()), stack_id=str(uuid.uuid4())))
    assert alarms.prune_orphans() == 1
    assert alarms.get(kept) is not None


def test_a_tick_is_bounded_and_shared_fairly_between_tenants(app, api, clock):
    alarms = AlarmStore(app.extensions["stoker"].store.engine)
    now = epoch(clock)
    body = {"type": "threshold", "repeat_actions": False,
            "threshold_rule": {"meter_name": "q", "threshold": 1, "period": 60}}
    for tenant, count in (("busy", 30), ("quiet", 2), ("other", 2)):
        for i in range(count):
            alarms.put({"id": str(uuid.uuid4()), "tenant": tenant, "stack_id": str(uuid.uuid4()),
                        "resource_name": f"a{i}", "resource_type": "OS::Aodh::Alarm",
                        "body": body, "enabled": True, "next_at": now - 100 + i,
                        "created_at": now})
    judge = evaluator(app, clock, max_per_tick=9)
    seen = []
    judge.evaluate = lambda row, at: seen.append(row["tenant"])
    assert judge.tick() == 9
    # an equal share each (3), and what the quiet ones left goes to the busy one
    assert sorted(seen) == ["busy"] * 5 + ["other"] * 2 + ["quiet"] * 2
    assert judge.lag >= 99
    # the rest stays due and is taken by the next ticks
    assert [judge.tick(), judge.tick(), judge.tick(), judge.tick()] == [9, 9, 7, 0]


def test_two_processes_evaluate_an_alarm_once_per_round(app, api, clock):
    stack = create(app, api, f"s-{uuid.uuid4().hex[:6]}", template())
    one, two = evaluator(app, clock), evaluator(app, clock)
    alarms = AlarmStore(app.extensions["stoker"].store.engine)
    row = alarms.get(resource_id(app, stack, "high"))
    assert alarms.claim(row, row["next_at"] + 60)
    assert not alarms.claim(row, row["next_at"] + 60)
    assert one.tick() == 0 and two.tick() == 0


def test_an_http_action_is_posted_as_aodh_does_and_internal_targets_are_refused(
        app, api, clock, http_server):
    url = http_server.url("/hook?token=secret")
    stack = create(app, api, f"s-{uuid.uuid4().hex[:6]}",
                   template(alarm_actions=[url], ok_actions=[]))
    refused = evaluator(app, clock)
    send(api, resource_id(app, stack, "vm"), clock, 90.0)
    clock.now += timedelta(seconds=1)
    assert refused.tick() == 1 and refused.wait_for_actions(10)
    assert refused.actions_failed == 1
    failure = alarm_events(app, stack)[-1]
    assert "is internal; an operator may allow it with --alarm-action-allow-network" in failure
    assert "secret" not in failure
    allowed = AlarmEvaluator(app.extensions["stoker"].store.engine, clock,
                             ActionCaller(app, lambda: [BASE], allow_networks=["127.0.0.0/8"]))
    clock.now += timedelta(seconds=61)
    assert allowed.tick() == 1 and allowed.wait_for_actions(10)
    request = http_server.wait_for(1)[-1]
    assert request.method == "POST" and request.path == "/hook?token=secret"
    body = request.json()
    assert body["current"] == "alarm" and body["severity"] == "low"
    assert body["reason_data"] == {"type": "threshold", "disposition": "outside", "count": 1,
                                   "most_recent": 90.0}
    assert request.headers["x-openstack-request-id"].startswith("req-")
    assert request.headers["content-type"] == "application/json"
    assert allowed.actions_failed == 0


def test_alarm_gauges_show_on_metrics(app, api, clock):
    stack = create(app, api, f"s-{uuid.uuid4().hex[:6]}", template())
    judge = evaluator(app, clock)
    app.extensions["stoker-alarm-evaluator"] = judge
    send(api, resource_id(app, stack, "vm"), clock, 90.0)
    assert judge.tick() == 1 and judge.wait_for_actions(10)
    text = api.get("/metrics").get_data(True)
    assert "stoker_alarms_evaluated_total 1" in text
    assert 'stoker_alarms{state="alarm"} 1' in text
    assert "stoker_alarm_evaluation_lag_seconds" in text


def test_the_servers_of_nested_groups_match_and_their_samples_count(app, api, clock):
    member = {"type": "OS::Heat::DeployedServer", "properties": {"metadata": {
        "metering.server_group": {"get_param": "OS::stack_id"}}}}
    tmpl = template("OS::Aodh::GnocchiAggregationByResourcesAlarm", alarm_actions=[],
                    ok_actions=[])
    tmpl["resources"]["members"] = {"type": "OS::Heat::ResourceGroup", "properties": {
        "count": 2, "resource_def": member}}
    stack = create(app, api, f"s-{uuid.uuid4().hex[:6]}", tmpl)
    alarms = AlarmStore(app.extensions["stoker"].store.engine)
    matched = [s["id"] for s in alarms.servers_of_tree(stack["id"])
               if s["metadata"].get("metering.server_group") == stack["id"]]
    vm = resource_id(app, stack, "vm")
    members = sorted(set(matched) - {vm})
    assert len(members) == 2 and vm in matched
    for server, value in zip(members, (80.0, 40.0)):   # with vm's 90: a mean of 70
        send(api, server, clock, value)
    send(api, vm, clock, 90.0)
    judge = evaluator(app, clock)
    assert judge.tick() == 1
    reason = alarm_events(app, stack)[-1]
    assert "most recent: 70.0" in reason and "[3 servers matched]" in reason, reason
