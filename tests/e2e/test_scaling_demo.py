"""The scaling scenario on a real server with real agents (what `stoker demo --scaling` runs):
load reported by the members' metrics probes grows the group from 1 to 3, each new member's
deployment completes, and the group shrinks back to 1 when the load falls."""
from __future__ import annotations

import secrets

import pytest

from cli import demo_scaling
from cli.demo_scaling import HIGH, LOW, Periods, Scaling

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(150)]


def test_the_group_follows_the_load_its_agents_report(tmp_path):
    token = secrets.token_hex(16)
    server, base = demo_scaling.start(tmp_path, Periods(), token)
    scenario = Scaling(base, token, tmp_path)
    try:
        scenario.create()
        [first] = scenario.wait_members(1)
        scenario.set_load(HIGH)
        grown = scenario.wait_members(3)
        assert first["id"] in {d["id"] for d in grown}   # the first member stays
        assert {d["server_id"] for d in grown} == {d["server_id"] for d in scenario.deployments()}
        assert all(d["output_values"]["ready"].endswith(" ready") for d in grown)
        scenario.set_load(LOW)
        [last] = scenario.wait_members(1)
        assert last["id"] != first["id"]   # scaling down removes the oldest first, as Heat does
        reasons = scenario.alarm_events()
        assert any(r.startswith("load_high: ") for r in reasons), reasons
        assert any(r.startswith("load_low: ") for r in reasons), reasons
        scenario.delete()
    finally:
        assert server.stop() == 0
    assert "Traceback" not in server.log()
