"""/metrics with an operator token: the agents' newest samples, in the token's tenants only."""
from __future__ import annotations

from datetime import timedelta, timezone

import pytest

from tests.server.conftest import api, app, make_server  # noqa: F401


def _post(api, tenant, server, clock, seconds_ago, values):
    now = clock.now.replace(tzinfo=timezone.utc).timestamp()
    answer = api.as_(server["credential"]["token"]).post(
        f"/v1/{tenant}/servers/{server['server']['id']}/metrics",
        {"samples": [{"time": now - seconds_ago, "metrics": values}]})
    assert answer.status_code == 202, answer.json
    return now - seconds_ago


@pytest.fixture
def two_tenants(api, make_server, clock):
    a, b = make_server(tenant="t1", name="a"), make_server(tenant="t2", name="b")
    _post(api, "t1", a, clock, 20, {"cpu_util": 10.0})
    clock.now += timedelta(seconds=2)   # past the rate gate's one batch a second per server
    at = _post(api, "t1", a, clock, 0, {"cpu_util": 75.5, "queue_depth": 3})
    _post(api, "t2", b, clock, 0, {"cpu_util": 5.0})
    return a["server"]["id"], b["server"]["id"], at


def _agent_lines(text: str) -> list[str]:
    return sorted(line for line in text.splitlines() if line.startswith("stoker_agent_"))


def test_without_a_token_metrics_shows_no_tenants_figures(api, two_tenants):
    answer = api.as_(None).get("/metrics")
    assert answer.status_code == 200
    assert _agent_lines(answer.get_data(as_text=True)) == []


def test_the_admin_token_sees_each_servers_newest_sample(api, two_tenants):
    a, b, at = two_tenants
    lines = _agent_lines(api.get("/metrics").get_data(as_text=True))
    assert f'stoker_agent_metric{{tenant="t1",server_id="{a}",metric="cpu_util"}} 75.5' in lines
    assert f'stoker_agent_metric{{tenant="t1",server_id="{a}",metric="queue_depth"}} 3' in lines
    assert f'stoker_agent_metric{{tenant="t2",server_id="{b}",metric="cpu_util"}} 5' in lines
    assert f'stoker_agent_sample_time_seconds{{tenant="t1",server_id="{a}"}} {at:g}' in lines
    assert not any('metric="cpu_util"} 10' in line for line in lines)   # the older sample


def test_a_scoped_token_by_bearer_sees_its_own_tenant_only(api, two_tenants):
    a, b, _ = two_tenants
    secret = api.post("/v1/tokens", {"name": "scrape", "tenant": "t2"}).json["secret"]
    answer = api.as_(None).get("/metrics", headers={"Authorization": f"Bearer {secret}"})
    assert answer.status_code == 200
    lines = _agent_lines(answer.get_data(as_text=True))
    assert lines and all(f'server_id="{b}"' in line for line in lines)


def test_a_servers_token_or_a_wrong_token_is_refused(api, make_server, two_tenants):
    server = make_server(name="c")
    assert api.as_(server["credential"]["token"]).get("/metrics").status_code == 403
    assert api.as_("not-a-token").get("/metrics").status_code == 401
