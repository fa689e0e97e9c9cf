"""Precomputed documents, the poll fast path, watch, change feed, last-seen, timeouts, rotation."""
from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import event

from metadata_server.service.document_cache import ChangeFeed


def _deploy(api, server_id, tenant="t1", **extra):
    config = api.post(f"/v1/{tenant}/software_configs", {"name": "c", "group": "script",
                                                           "config": "#!/bin/sh\n"}).json
    response = api.post(f"/v1/{tenant}/software_deployments", dict(
        {"config_id": config["software_config"]["id"], "server_id": server_id,
         "signal_transport": "TEMP_URL_SIGNAL"}, **extra))
    assert response.status_code == 200, response.json
    return response.json["software_deployment"]


@pytest.fixture
def agent_of(api, make_server):
    def make():
        registered = make_server()
        sid = registered["server"]["id"]
        return sid, api.as_(registered["credential"]["token"]), f"/v1/t1/servers/{sid}/metadata"
    return make


@pytest.fixture
def queries(store):
    seen = []
    listener = lambda *args: seen.append(args[2])  # noqa: E731  (statement text)
    event.listen(store.engine, "before_cursor_execute", listener)
    yield seen
    event.remove(store.engine, "before_cursor_execute", listener)


def test_unchanged_poll_is_304_from_memory_with_no_query(agent_of, queries, app):
    sid, agent, url = agent_of()
    first = agent.get(url)
    assert first.status_code == 200
    queries.clear()
    for _ in range(5):
        again = agent.get(url, headers={"If-None-Match": first.headers["ETag"]})
        assert again.status_code == 304
    assert queries == []
    metrics = app.extensions["stoker"].metrics
    assert metrics.value("stoker_polls_total", answer="304", path="fast") == 5
    # a full answer also comes from memory once built
    assert agent.get(url).status_code == 200 and queries == []


def test_poll_suggests_an_interval(agent_of):
    _, agent, url = agent_of()
    assert agent.get(url).headers["X-Stoker-Poll-Interval"] == "30"


def test_change_invalidates_at_once(api, agent_of):
    sid, agent, url = agent_of()
    etag = agent.get(url).headers["ETag"]
    _deploy(api, sid)
    changed = agent.get(url, headers={"If-None-Match": etag})
    assert changed.status_code == 200 and len(changed.json["deployments"]) == 1


def test_watch_returns_within_half_a_second_of_a_change(api, agent_of):
    sid, agent, url = agent_of()
    etag = agent.get(url).headers["ETag"]
    result = {}
    waiting = threading.Event()

    def watch():
        waiting.set()
        response = agent.get(url + "?wait=20", headers={"If-None-Match": etag})
        result["at"] = time.monotonic()
        result["response"] = response

    watcher = threading.Thread(target=watch)
    watcher.start()
    waiting.wait(5)
    cache = api.client.application.extensions["stoker"].documents
    deadline = time.monotonic() + 5
    while cache.watchers == 0 and time.monotonic() < deadline:
        time.sleep(0.01)  # the watcher thread needs a moment to reach its wait
    assert cache.watchers == 1
    changed_at = time.monotonic()
    _deploy(api, sid)
    watcher.join(10)
    assert result["response"].status_code == 200
    assert len(result["response"].json["deployments"]) == 1
    assert result["at"] - changed_at < 0.5


def test_watch_times_out_with_304(agent_of):
    _, agent, url = agent_of()
    etag = agent.get(url).headers["ETag"]
    started = time.monotonic()
    response = agent.get(url + "?wait=0.3", headers={"If-None-Match": etag})
    assert response.status_code == 304
    assert 0.25 < time.monotonic() - started < 5


def test_change_made_by_another_worker_arrives_through_the_feed(db_url, clock, make_server, api):
    """Two apps on one database stand for two gunicorn workers."""
    from metadata_server.app import create_app
    from metadata_server.service.credentials import token_hash
    from metadata_server.store import open_store
    from tests.server.conftest import ADMIN, Api

    other_app = create_app(open_store(db_url), token_hash(ADMIN), clock=clock,
                           public_url="http://stoker.test")
    feed = ChangeFeed(other_app.extensions["stoker"].store, other_app.extensions["stoker"].documents)
    registered = make_server()
    sid = registered["server"]["id"]
    other = Api(other_app.test_client(), registered["credential"]["token"])
    url = f"/v1/t1/servers/{sid}/metadata"
    etag = other.get(url).headers["ETag"]
    _deploy(api, sid)  # through the first app
    assert other.get(url, headers={"If-None-Match": etag}).status_code == 304  # stale until fed
    assert feed.poll() >= 1
    fresh = other.get(url, headers={"If-None-Match": etag})
    assert fresh.status_code == 200 and len(fresh.json["deployments"]) == 1


def test_last_seen_is_batched(api, agent_of, app, store):
    sid, agent, url = agent_of()
    agent.get(url)
    assert store.get_server(sid).last_seen_at is None  # no write per poll
    assert api.get(f"/v1/t1/servers/{sid}").json["server"]["last_seen_time"] is not None
    assert app.extensions["stoker"].last_seen.flush(store) == 1
    assert store.get_server(sid).last_seen_at is not None


def test_rotation_revokes_old_credentials_even_when_cached(api, agent_of):
    sid, agent, url = agent_of()
    etag = agent.get(url).headers["ETag"]
    assert agent.get(url, headers={"If-None-Match": etag}).status_code == 304  # now cached
    rotated = api.post(f"/v1/t1/servers/{sid}/credentials")
    assert rotated.status_code == 201
    assert agent.get(url).status_code == 401
    assert api.as_(rotated.json["credential"]["token"]).get(url).status_code == 200


def test_timed_out_deployment_fails_with_what_is_known(api, agent_of, store, clock):
    from metadata_server.service import timeouts
    sid, agent, url = agent_of()
    never = _deploy(api, "unregistered-server", timeout=5)
    polled = _deploy(api, sid, input_values={"deploy_timeout": 5})
    agent.get(url)
    api.put(f"/v1/signal/deployments/{polled['id']}", {}, headers={"X-Stoker-Phase": "running"})
    assert timeouts.sweep(store, clock) == []  # not yet
    clock.now += timedelta(seconds=70)
    last_seen = api.client.application.extensions["stoker"].last_seen
    assert sorted(timeouts.sweep(store, clock, last_seen)) == sorted([never["id"], polled["id"]])
    failed = api.get(f"/v1/t1/software_deployments/{never['id']}").json["software_deployment"]
    assert failed["status"] == "FAILED"
    assert "not registered with stoker" in failed["status_reason"]
    other = api.get(f"/v1/t1/software_deployments/{polled['id']}").json["software_deployment"]
    assert "the agent last polled at" in other["status_reason"]
    assert "last phase reported: running" in other["status_reason"]
    # a late result no longer changes it, as in Heat
    late = api.put(f"/v1/signal/deployments/{polled['id']}", {"deploy_status_code": 0})
    assert late.json["signal"]["applied"] is False


def test_never_polled_agent_is_named_in_the_reason(api, make_server, store, clock):
    from metadata_server.service import timeouts
    sid = make_server()["server"]["id"]
    deployment = _deploy(api, sid, timeout=1)
    clock.now += timedelta(seconds=120)
    timeouts.sweep(store, clock)
    shown = api.get(f"/v1/t1/software_deployments/{deployment['id']}").json["software_deployment"]
    assert "has never polled" in shown["status_reason"]
    assert "never reported starting it" in shown["status_reason"]


@pytest.mark.parametrize("body", [{"timeout": 0}, {"timeout": "soon"},
                                  {"input_values": {"deploy_timeout": -3}}])
def test_bad_timeouts_are_400(api, body):
    config = api.post("/v1/t1/software_configs", {}).json["software_config"]
    response = api.post("/v1/t1/software_deployments",
                        dict({"config_id": config["id"], "server_id": "s"}, **body))
    assert response.status_code == 400
    assert "timeout" in response.json["error"]["message"]


def test_healthz_and_metrics(api):
    assert api.as_(None).get("/healthz").json == {"status": "ok"}
    text = api.as_(None).get("/metrics").get_data(as_text=True)
    assert "stoker_documents_cached 0" in text
