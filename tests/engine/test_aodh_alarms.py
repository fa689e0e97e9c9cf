"""OS::Aodh::Alarm and OS::Aodh::GnocchiAggregationByResourcesAlarm in the engine: Heat's
property schemas, the alarm in Aodh's API shape (as Heat reformats it), and where it goes: to
the cloud driver when it evaluates alarms, else to stoker's alarm table."""
from __future__ import annotations

import pytest

from metadata_server.engine.errors import StackValidationFailed
from metadata_server.engine.plugin_fakes import fake_context
from metadata_server.engine.resources import resource_class
from metadata_server.engine.resources.aodh import (AodhAlarm, GnocchiAggregationByResourcesAlarm,
                                                   GnocchiResourcesAlarm)
from metadata_server.engine.walker import CancelToken
from metadata_server.store.alarms import AlarmStore

from engine_helpers import hot, run

pytestmark = pytest.mark.timeout(60)

THRESHOLD = {"meter_name": "cpu_util", "statistic": "avg", "period": 60,
             "evaluation_periods": 1, "threshold": 50, "comparison_operator": "gt",
             "matching_metadata": {"metadata.user_metadata.stack": "st-1"}}
GNOCCHI = {"metric": "cpu_util", "aggregation_method": "mean", "granularity": 300,
           "evaluation_periods": 2, "threshold": "80", "comparison_operator": "gt",
           "resource_type": "instance", "query": '{"=": {"server_group": "st-1"}}'}


class AlarmCloud:
    """A cloud driver that evaluates alarms (as the openstack driver does with Aodh)."""
    evaluates_alarms = True

    def __init__(self):
        self.calls = []

    def create(self, kind, name, body, *, physical_id=None):
        self.calls.append(("create", kind, body))
        return "aodh-1", dict(body, alarm_id="aodh-1", state="insufficient data")

    def update(self, kind, physical_id, body):
        self.calls.append(("update", physical_id, body))
        return dict(body, alarm_id=physical_id)

    def delete(self, kind, physical_id):
        self.calls.append(("delete", kind, physical_id))


def plugin(cls, raw, driver=None, store=None, rows=None):
    ctx = fake_context()
    ctx.driver, ctx.store = driver, store
    ctx.finder.rows[ctx.stack_id] = rows or {}
    return cls("high", ctx, cls.validate_properties("high", raw))


def test_both_types_are_registered_with_heats_defaults():
    assert resource_class("OS::Aodh::Alarm") is AodhAlarm
    assert resource_class("OS::Aodh::GnocchiAggregationByResourcesAlarm") is \
        GnocchiAggregationByResourcesAlarm
    props = AodhAlarm.validate_properties("a", {"meter_name": "cpu_util", "threshold": 1})
    assert props["enabled"] is True and props["repeat_actions"] is True
    assert props["severity"] == "low" and props["time_constraints"] == []
    assert all(AodhAlarm.properties_schema[k].update_allowed for k in THRESHOLD)


@pytest.mark.parametrize("cls, raw, path, message", [
    (AodhAlarm, {"meter_name": "m"}, "threshold", "Property threshold not assigned"),
    (AodhAlarm, {"threshold": 1}, "meter_name", "Property meter_name not assigned"),
    (AodhAlarm, dict(THRESHOLD, statistic="mean"), "statistic", "is not an allowed value"),
    (AodhAlarm, dict(THRESHOLD, comparison_operator=">"), "comparison_operator",
     "is not an allowed value"),
    (AodhAlarm, dict(THRESHOLD, severity="high"), "severity", "is not an allowed value"),
    (AodhAlarm, dict(THRESHOLD, period=0), "period", "out of range"),
    (AodhAlarm, dict(THRESHOLD, query=[{"field": "x", "op": "like", "value": 1}]), "query",
     "'like' is not one of"),
    (GnocchiAggregationByResourcesAlarm, dict(GNOCCHI, query="{nope"), "query", "not JSON"),
    (AodhAlarm, dict(THRESHOLD, time_constraints=[{"name": "n", "start": "0 8 * *",
                                                   "duration": 60}]),
     "time_constraints", "time_constraints[0]: start '0 8 * *': a cron expression has 5 fields"),
    (GnocchiAggregationByResourcesAlarm, {k: v for k, v in GNOCCHI.items() if k != "query"},
     "query", "Property query not assigned"),
    (GnocchiAggregationByResourcesAlarm, dict(GNOCCHI, aggregation_method="avg"),
     "aggregation_method", "is not an allowed value"),
])
def test_bad_properties_are_refused_at_their_path(cls, raw, path, message):
    with pytest.raises(StackValidationFailed) as caught:
        cls.validate_properties("high", raw)
    assert message in str(caught.value)
    assert f"resources.high.properties.{path}" in str(caught.value.path or caught.value)


def test_the_threshold_alarm_goes_to_the_cloud_as_heat_sends_it():
    cloud = AlarmCloud()
    rows = {"up": {"name": "up", "type": "OS::Heat::ScalingPolicy", "physical_id": "p"}}
    alarm = plugin(AodhAlarm, dict(THRESHOLD, alarm_actions=["up", "http://elsewhere/hook"],
                                   matching_metadata={"metadata.user_metadata.stack": "st-1",
                                                      "role": 7}),
                   driver=cloud, rows=rows)
    alarm.handle_create(CancelToken())
    (_, kind, body), = cloud.calls
    assert kind == "alarm" and alarm.physical_id == "aodh-1"
    assert body["type"] == "threshold" and body["repeat_actions"] is True
    assert body["threshold_rule"] == {
        "meter_name": "cpu_util", "period": 60, "evaluation_periods": 1, "statistic": "avg",
        "threshold": 50, "comparison_operator": "gt",
        "query": [{"field": "metadata.user_metadata.stack", "op": "eq", "value": "st-1"},
                  {"field": "metadata.user_metadata.role", "op": "eq", "value": "7"}]}
    # a resource name in the actions is that policy's pre-signed alarm URL (Heat's rule)
    policy_url, other = body["alarm_actions"]
    assert policy_url.startswith("http://127.0.0.1:8004/v1/t1/stacks/stack/stack-1/resources/up"
                                 "/signal?sig=")
    assert other == "http://elsewhere/hook"
    assert alarm.attribute("show")["alarm_id"] == "aodh-1"
    alarm.handle_update(dict(alarm.properties, threshold=70), {"threshold"}, CancelToken())
    assert cloud.calls[-1][2]["threshold_rule"]["threshold"] == 70
    alarm.handle_suspend(CancelToken())
    assert cloud.calls[-1][2]["enabled"] is False
    alarm.handle_delete(CancelToken())
    assert cloud.calls[-1] == ("delete", "alarm", "aodh-1")


def test_a_meter_ceilometer_does_not_take_from_nova_matches_metering_metadata():
    cloud = AlarmCloud()
    alarm = plugin(AodhAlarm, dict(THRESHOLD, meter_name="queue_depth",
                                   matching_metadata={"metering.stack": "st-1"}), driver=cloud)
    alarm.handle_create(CancelToken())
    assert cloud.calls[0][2]["threshold_rule"]["query"] == [
        {"field": "metadata.metering.stack", "op": "eq", "value": "st-1"}]


def test_the_gnocchi_alarm_carries_its_rule_and_queues_as_zaqar_actions():
    cloud = AlarmCloud()
    alarm = plugin(GnocchiAggregationByResourcesAlarm,
                   dict(GNOCCHI, ok_queues=["q1"], description="d"), driver=cloud)
    alarm.handle_create(CancelToken())
    body = cloud.calls[0][2]
    assert body["type"] == "gnocchi_aggregation_by_resources_threshold"
    assert body["description"] == "d"
    assert body["gnocchi_aggregation_by_resources_threshold_rule"] == dict(GNOCCHI, threshold=80.0)
    assert body["ok_actions"] == ["trust+zaqar://?queue_name=q1"]


def test_the_gnocchi_resources_alarm_names_one_resource():
    cloud = AlarmCloud()
    raw = dict({k: v for k, v in GNOCCHI.items() if k != "query"}, resource_id="srv-1")
    alarm = plugin(GnocchiResourcesAlarm, raw, driver=cloud)
    alarm.handle_create(CancelToken())
    body = cloud.calls[0][2]
    assert body["type"] == "gnocchi_resources_threshold"
    assert body["gnocchi_resources_threshold_rule"]["resource_id"] == "srv-1"
    with pytest.raises(StackValidationFailed, match="Property resource_id not assigned"):
        GnocchiResourcesAlarm.validate_properties("high", dict(raw, resource_id=None))
    with pytest.raises(StackValidationFailed, match="Unknown Property query"):
        GnocchiResourcesAlarm.validate_properties("high", dict(raw, query="{}"))


def test_a_gnocchi_alarm_without_aggregation_method_fails_as_aodh_refuses_it():
    raw = {k: v for k, v in GNOCCHI.items() if k != "aggregation_method"}
    alarm = plugin(GnocchiAggregationByResourcesAlarm, raw, driver=AlarmCloud())
    with pytest.raises(StackValidationFailed, match="aggregation_method is required"):
        alarm.handle_create(CancelToken())


def test_without_an_alarm_cloud_the_alarm_goes_to_stokers_table(store):
    alarm = plugin(AodhAlarm, THRESHOLD, store=store)
    alarm.handle_create(CancelToken())
    alarms = AlarmStore(store.engine)
    row = alarms.get(alarm.physical_id)
    assert alarm.data["evaluator"] == "stoker"
    assert row["state"] == "insufficient data" and row["enabled"] is True
    assert row["body"]["threshold_rule"]["threshold"] == 50
    alarms.record(alarm.physical_id, 1.0, "alarm", "why")
    alarm.handle_update(dict(alarm.properties, threshold=60), {"threshold"}, CancelToken())
    row = alarms.get(alarm.physical_id)
    assert row["state"] == "alarm" and row["body"]["threshold_rule"]["threshold"] == 60
    shown = alarm.attribute("show")
    assert shown["state"] == "alarm" and shown["state_reason"] == "why"
    alarm.handle_suspend(CancelToken())
    assert alarms.get(alarm.physical_id)["enabled"] is False
    alarm.handle_resume(CancelToken())
    assert alarms.get(alarm.physical_id)["enabled"] is True
    alarm.handle_delete(CancelToken())
    assert alarms.get(alarm.physical_id) is None


def test_a_stack_with_both_alarm_types_completes_on_the_engine(engine, store):
    stack = engine.create_stack("t1", {"stack_name": "alarms", "template": hot({
        "high": {"type": "OS::Aodh::Alarm", "properties": THRESHOLD},
        "group": {"type": "OS::Aodh::GnocchiAggregationByResourcesAlarm", "properties": GNOCCHI}},
        {"shown": {"value": {"get_attr": ["high", "show", "state"]}}})})
    stack = run(engine, stack["id"])
    assert stack["status"] == "COMPLETE", stack["status_reason"]
    assert {o["output_key"]: o["output_value"] for o in engine.outputs(stack)} == {
        "shown": "insufficient data"}


def test_with_the_openstack_driver_the_operator_may_keep_alarms_in_stoker(store):
    """`stoker server --alarm-evaluator stoker`: the openstack driver no longer evaluates
    alarms, and Aodh is never asked."""
    pytest.importorskip("openstack", reason="the `openstack` extra is not installed")
    from metadata_server.engine.drivers import OpenStackDriver
    from metadata_server.engine.stack import Engine
    from metadata_server.service.clock import system_clock
    from tests.openstack_cloud import Replay

    replay = Replay([])
    driver = OpenStackDriver(replay.connection(), poll_interval=0)
    assert driver.evaluates_alarms is True
    driver.evaluates_alarms = False        # what the option sets on the driver it makes
    engine = Engine(store, system_clock, driver=driver)
    try:
        stack = engine.create_stack("t1", {"stack_name": "mine", "template": hot({
            "high": {"type": "OS::Aodh::Alarm", "properties": THRESHOLD}})})
        stack = run(engine, stack["id"])
        assert stack["status"] == "COMPLETE", stack["status_reason"]
        alarm_id = engine.find_resource(stack["id"], "high")["physical_id"]
        assert AlarmStore(store.engine).get(alarm_id)["state"] == "insufficient data"
        assert replay.requests == [] and replay.unexpected == []
    finally:
        engine.close()
        replay.close()
