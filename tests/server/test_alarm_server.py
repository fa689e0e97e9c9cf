"""`stoker server` evaluates alarms itself: a real server process, its options, a stack whose
alarm sees a server's samples over HTTP, and the group its policy scales; the evaluator's gauges
on /metrics."""
from __future__ import annotations

import time

import pytest
import requests

from cli.processes import start_server
from tests.waiting import until

pytestmark = pytest.mark.timeout(90)
TOKEN = "admin-token-for-the-alarm-server-test"
TEMPLATE = {"heat_template_version": "2018-08-31", "resources": {
    "vm": {"type": "OS::Heat::DeployedServer", "properties": {
        "metadata": {"metering.server_group": {"get_param": "OS::stack_id"}}}},
    "asg": {"type": "OS::Heat::AutoScalingGroup", "properties": {
        "min_size": 1, "max_size": 3, "cooldown": 0,
        "resource": {"type": "OS::Heat::Value", "properties": {"value": 1}}}},
    "up": {"type": "OS::Heat::ScalingPolicy", "properties": {
        "auto_scaling_group_id": {"get_resource": "asg"}, "scaling_adjustment": 1,
        "adjustment_type": "change_in_capacity", "cooldown": 0}},
    "high": {"type": "OS::Aodh::GnocchiAggregationByResourcesAlarm", "properties": {
        "metric": "cpu_util", "aggregation_method": "mean", "granularity": 60,
        "evaluation_periods": 1, "threshold": 50, "comparison_operator": "gt",
        "resource_type": "instance", "repeat_actions": False,
        "alarm_actions": [{"get_attr": ["up", "alarm_url"]}],
        "query": {"str_replace": {"template": '{"=": {"server_group": "SID"}}',
                                  "params": {"SID": {"get_param": "OS::stack_id"}}}}}}},
    "outputs": {"size": {"value": {"get_attr": ["asg", "current_size"]}}}}


def test_the_server_scales_a_group_on_its_agents_samples(tmp_path):
    server, base = start_server(tmp_path / "state", TOKEN, tmp_path / "server.log", None,
                                "127.0.0.1:0", "--alarm-evaluation-interval", "0.5",
                                "--metrics-min-interval", "0.1")
    session = requests.Session()
    session.headers["X-Auth-Token"] = TOKEN
    try:
        created = session.post(f"{base}/v1/t1/stacks", json={"stack_name": "s",
                                                             "template": TEMPLATE}, timeout=10)
        assert created.status_code == 201, created.text
        url = f"{base}/v1/t1/stacks/s/{created.json()['stack']['id']}"
        stack = until(lambda: (lambda s: s if s["stack_status"] != "CREATE_IN_PROGRESS" else None)(
            session.get(url, timeout=10).json()["stack"]), 30, "the stack to be created")
        assert stack["stack_status"] == "CREATE_COMPLETE", stack["stack_status_reason"]
        vm = session.get(f"{url}/resources/vm", timeout=10).json()["resource"][
            "physical_resource_id"]
        sent = session.post(f"{base}/v1/t1/servers/{vm}/metrics", timeout=10, json={
            "samples": [{"time": time.time(), "metrics": {"cpu_util": 91.0}}]})
        assert sent.status_code == 202, sent.text

        def size():
            outputs = session.get(url, timeout=10).json()["stack"].get("outputs") or []
            return [o["output_value"] for o in outputs] == [2]
        until(size, 30, "the group to grow to 2")
        events = session.get(f"{url}/events", timeout=10).json()["events"]
        # all of a resource's reasons: events of one second may list in either order
        reasons: dict[str, list[str]] = {}
        for e in events:
            reasons.setdefault(e["resource_name"], []).append(e["resource_status_reason"])
        assert any(r.startswith("alarm state changed from insufficient data to alarm")
                   for r in reasons["high"]), reasons["high"]
        assert any(r.startswith("Scaled from 1 to 2 (policy up") for r in reasons["asg"]), \
            reasons["asg"]
        # the action's count is taken once its call returned, maybe after the resize ended
        metrics = until(lambda: (lambda text: text if "stoker_alarm_actions_called_total 1"
                                 in text else None)(requests.get(f"{base}/metrics", timeout=10).text),
                        10, "the action to be counted")
        assert 'stoker_alarms{state="alarm"} 1' in metrics
        assert "stoker_metric_samples_received_total 1" in metrics
    finally:
        assert server.stop() == 0, server.log()
