"""Agents' metric samples: both routes of the wire contract, their limits, and the window kept
per server in the store (docs/protocol.md "Agent metrics")."""
from __future__ import annotations

import json
from datetime import timezone
from pathlib import Path

import pytest

from metadata_server.api.metrics_ingest import configure
from metadata_server.service.metric_samples import IngestLimits
from metadata_server.store.metric_window import MetricWindow
from tests.server.conftest import api, app, make_server  # noqa: F401

CASES = json.loads((Path(__file__).parent / "fixtures" / "metrics_ingest_refused.json").read_text())


def epoch(clock) -> float:
    return clock.now.replace(tzinfo=timezone.utc).timestamp()


def batch(*times_and_values) -> dict:
    return {"samples": [{"time": t, "metrics": m} for t, m in times_and_values]}


@pytest.fixture
def server(make_server):
    return make_server()


def signed_metrics_url(server: dict) -> str:
    """As an agent derives it: /metrics inserted before the signed metadata URL's query."""
    url = server["os-collect-config"]["request"]["metadata_url"]
    path, query = url.split("?", 1)
    return path.replace("http://stoker.test", "") + "/metrics?" + query


def test_a_server_token_posts_to_its_own_window(api, server, store, clock):
    token, server_id = server["credential"]["token"], server["server"]["id"]
    now = epoch(clock)
    answer = api.as_(token).post(f"/v1/t1/servers/{server_id}/metrics", batch(
        (now - 10, {"cpu_util": 12.5, "load1": 0.3}), (now - 5, {"cpu_util": 14})))
    assert answer.status_code == 202, answer.json
    assert answer.json == {"accepted": 2}
    window = MetricWindow(store.engine).samples_since([server_id], now - 60)[server_id]
    assert window == [(now - 10, {"cpu_util": 12.5, "load1": 0.3}), (now - 5, {"cpu_util": 14})]


def test_the_signed_metadata_signature_posts_to_the_window(api, server, store, clock):
    server_id = server["server"]["id"]
    answer = api.as_(None).post(signed_metrics_url(server), batch((epoch(clock), {"q": 1})))
    assert answer.status_code == 202, answer.json
    assert MetricWindow(store.engine).count(server_id) == 1


def test_a_wrong_signature_or_another_servers_token_is_refused(api, server, make_server, store):
    other = make_server(name="other")
    url = signed_metrics_url(server)
    wrong = url.replace(server["server"]["id"], other["server"]["id"])
    assert api.as_(None).post(wrong, batch((1.0, {"q": 1}))).status_code == 403
    path = f"/v1/t1/servers/{server['server']['id']}/metrics"
    assert api.as_(other["credential"]["token"]).post(path, batch((1.0, {"q": 1}))).status_code == 403
    assert api.as_("nope").post(path, batch((1.0, {"q": 1}))).status_code == 401
    # a rotation retires the signed URL with the old credentials
    assert api.post(f"/v1/t1/servers/{server['server']['id']}/credentials").status_code == 201
    assert api.as_(None).post(url, batch((1.0, {"q": 1}))).status_code == 403
    assert MetricWindow(store.engine).count() == 0


def test_an_operator_of_the_tenant_may_send_but_not_for_a_missing_server(api, server):
    path = f"/v1/t1/servers/{server['server']['id']}/metrics"
    assert api.post(path, batch((1.0, {"q": 1}))).status_code == 202
    assert api.post("/v1/t1/servers/nope/metrics", batch((1.0, {"q": 1}))).status_code == 404
    assert api.post(f"/v1/t2/servers/{server['server']['id']}/metrics",
                    batch((1.0, {"q": 1}))).status_code == 404


@pytest.mark.parametrize("case", sorted(CASES), ids=str)
def test_a_bad_batch_is_a_400_naming_the_field(api, server, store, case):
    body, says = CASES[case]["body"], CASES[case]["says"]
    answer = api.as_(server["credential"]["token"]).post(
        f"/v1/t1/servers/{server['server']['id']}/metrics", body)
    assert answer.status_code == 400, answer.json
    assert says in answer.json["error"]["message"], answer.json
    assert MetricWindow(store.engine).count() == 0


def test_a_body_over_64_kib_is_a_413(api, server):
    many = {f"m{i}": 1.0 for i in range(64)}
    body = batch(*[(float(i), many) for i in range(120)])
    assert len(json.dumps(body)) > 64 * 1024
    answer = api.as_(server["credential"]["token"]).post(
        f"/v1/t1/servers/{server['server']['id']}/metrics", body)
    assert answer.status_code == 413
    assert "65536 bytes" in answer.json["error"]["message"]


def test_a_server_sending_too_fast_gets_a_429_with_retry_after(app, api, server, store):
    configure(app, IngestLimits(min_interval=30))
    path = f"/v1/t1/servers/{server['server']['id']}/metrics"
    agent = api.as_(server["credential"]["token"])
    assert agent.post(path, batch((1.0, {"q": 1}))).status_code == 202
    again = agent.post(path, batch((2.0, {"q": 2})))
    assert again.status_code == 429, again.json
    assert 1 <= int(again.headers["Retry-After"]) <= 30
    assert MetricWindow(store.engine).count() == 1
    assert "stoker_metric_batches_refused_total 1" in api.get("/metrics").get_data(True)


def test_an_agent_clock_far_off_is_shifted_to_the_time_of_receipt(api, server, store, clock):
    server_id = server["server"]["id"]
    start = epoch(clock)
    answer = api.as_(server["credential"]["token"]).post(
        f"/v1/t1/servers/{server_id}/metrics",
        batch((start - 7210, {"q": 1}), (start - 7200, {"q": 2})))
    assert answer.status_code == 202
    (t1, _), (t2, _) = MetricWindow(store.engine).samples_since([server_id], 0)[server_id]
    assert t2 - t1 == 10                     # spacing kept
    assert start <= t2 <= epoch(clock)       # the newest is when it arrived


def test_samples_received_show_on_metrics(api, server):
    api.as_(server["credential"]["token"]).post(
        f"/v1/t1/servers/{server['server']['id']}/metrics", batch((1.0, {"a": 1}), (2.0, {"a": 2})))
    assert "stoker_metric_samples_received_total 2" in api.get("/metrics").get_data(True)


def test_the_window_is_bounded_by_age_and_by_count(store):
    window = MetricWindow(store.engine)
    for i in range(10):
        window.add_batch("s1", "t1", 1000.0 + i, [(1000.0 + i, {"q": i})])
    window.add_batch("s2", "t1", 1000.0, [(500.0, {"q": 0})])
    assert window.prune(older_than=900.0, max_batches=4) == 1 + 6
    assert window.count("s2") == 0
    kept = window.samples_since(["s1"], 0)["s1"]
    assert [values["q"] for _, values in kept] == [6, 7, 8, 9]
    assert window.latest("s1") == (1009.0, {"q": 9})


def test_more_samples_or_metrics_than_the_contract_allows_is_a_400(api, server):
    agent, path = api.as_(server["credential"]["token"]), f"/v1/t1/servers/{server['server']['id']}/metrics"
    answer = agent.post(path, batch(*[(float(i), {"q": 1}) for i in range(121)]))
    assert answer.status_code == 400
    assert "samples: 121 samples; at most 120" in answer.json["error"]["message"]
    answer = agent.post(path, batch((1.0, {f"m{i}": 1 for i in range(65)})))
    assert answer.status_code == 400
    assert "samples[0].metrics: 65 metrics; at most 64" in answer.json["error"]["message"]
