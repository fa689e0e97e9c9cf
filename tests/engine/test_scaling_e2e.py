"""A scaling group on a real `stoker server`: a policy's alarm_url, POSTed with no token as Aodh
does, grows the group within max_size; a POST inside the cooldown changes nothing, and an
event of the group says why."""
from __future__ import annotations

import secrets

import pytest
import requests

from cli.processes import start_server
from tests.waiting import stack_when, until

pytestmark = pytest.mark.timeout(120)

TEMPLATE = {
    "heat_template_version": "2018-08-31",
    "resources": {
        "asg": {"type": "OS::Heat::AutoScalingGroup", "properties": {
            "min_size": 1, "max_size": 3, "cooldown": 0,
            "resource": {"type": "OS::Heat::TestResource", "properties": {"value": "member"}}}},
        "up": {"type": "OS::Heat::ScalingPolicy", "properties": {
            "auto_scaling_group_id": {"get_resource": "asg"}, "cooldown": 600,
            "adjustment_type": "change_in_capacity", "scaling_adjustment": 5}},
        "down": {"type": "OS::Heat::ScalingPolicy", "properties": {
            "auto_scaling_group_id": {"get_resource": "asg"},
            "adjustment_type": "change_in_capacity", "scaling_adjustment": -1}},
    },
    "outputs": {
        "alarm_url": {"value": {"get_attr": ["up", "alarm_url"]}},
        "down_url": {"value": {"get_attr": ["down", "alarm_url"]}},
        "size": {"value": {"get_attr": ["asg", "current_size"]}},
        "values": {"value": {"get_attr": ["asg", "outputs_list", "output"]}},
    },
}
AODH_BODY = {"alarm_name": "cpu_high", "alarm_id": "a1", "severity": "low",
             "previous": "ok", "current": "alarm", "reason": "Transition to alarm",
             "reason_data": {"type": "threshold"}}


def test_alarm_url_scales_within_max_size_and_cooldown_refusal_is_an_event(tmp_path):
    token = secrets.token_urlsafe(16)
    server, base = start_server(tmp_path / "server", token, tmp_path / "server.log")
    try:
        session = requests.Session()
        session.headers["X-Auth-Token"] = token
        created = session.post(f"{base}/v1/t1/stacks", timeout=10, json={
            "stack_name": "scaled", "template": TEMPLATE})
        assert created.status_code == 201, created.text
        url = created.headers["Location"]

        def outputs():
            stack = stack_when(session, url, lambda s: not s["stack_status"].endswith(
                "IN_PROGRESS"), 60)
            assert stack["stack_status"] == "CREATE_COMPLETE", stack["stack_status_reason"]
            return {o["output_key"]: o.get("output_value") for o in stack["outputs"]}
        first = outputs()
        assert first["size"] == 1 and first["values"] == ["member"]
        alarm_url = first["alarm_url"]
        assert "sig=" in alarm_url

        def group_signals(count):
            """The group's SIGNAL event reasons once there are `count` (a resize runs after
            the sender has its answer, as in Heat)."""
            def found():
                events = session.get(f"{url}/resources/asg/events", timeout=10).json()["events"]
                reasons = [e["resource_status_reason"] for e in events
                           if e["resource_status"] == "SIGNAL_COMPLETE"]
                return reasons if len(reasons) >= count else None
            return until(found, 60, f"{count} signal events of the group")

        # no token, as Aodh posts: grows by 5, capped at max_size 3
        answer = requests.post(alarm_url, json=AODH_BODY, timeout=10)
        assert answer.status_code == 200, answer.text
        group_signals(1)
        assert outputs()["size"] == 3
        # inside the cooldown the up policy started: refused, nothing changes
        refused = requests.post(first["down_url"], json=AODH_BODY, timeout=10)
        assert refused.status_code == 200, refused.text
        group_signals(2)
        assert outputs()["size"] == 3
        again = requests.post(alarm_url, json=AODH_BODY, timeout=10)
        assert again.status_code == 200, again.text
        signals = group_signals(3)
        assert outputs()["size"] == 3
        forged = requests.post(alarm_url.split("?")[0] + "?sig=forged", json=AODH_BODY,
                               timeout=10)
        assert forged.status_code == 403

        assert signals[0] == "Scaled from 1 to 3 (policy up, change_in_capacity : 5)"
        assert signals[1].startswith(
            "Scaling refused (policy down): the group is in cooldown until")
        assert signals[2] == "Scaling refused (policy up): no change in size (3)"
        policy_events = session.get(f"{url}/resources/up/events", timeout=10).json()["events"]
        assert [e["resource_status_reason"] for e in policy_events
                if e["resource_status"] == "SIGNAL_COMPLETE"] == [
            "alarm state changed from ok to alarm (Transition to alarm)"] * 2
    finally:
        server.stop()
    assert "Traceback" not in server.log()
