"""The watch, cfn and request collectors against a real `stoker server` process on loopback.

Interop, not unit behaviour: the server's own credentials and URLs (from registering a server) must
work with the collectors as they are, the three must see the same deployments, and a long-polled
watch request must return as soon as a deployment is created.
"""
import secrets
import threading
import time

import pytest
import requests

from collector import registry
from cli.processes import start_server

pytestmark = pytest.mark.e2e
# a real `stoker server`: skipped where only the agent is installed (the agent-side runs on 3.9)
pytest.importorskip("flask", reason="needs the server (stoker[server], Python 3.11+)")


@pytest.fixture
def server(tmp_path):
    token = secrets.token_urlsafe(16)
    process, base = start_server(tmp_path / "server", token, tmp_path / "server.log")
    session = requests.Session()
    session.headers["X-Auth-Token"] = token
    yield base, session
    assert process.stop() == 0


def _post(session, url, body):
    response = session.post(url, json=body, timeout=10)
    assert response.status_code in (200, 201), response.text
    return response.json()


def _collector(name, settings):
    cls = registry.get(name)
    full = {key: option.default for key, option in cls.options.items()}
    full.update(settings)
    return cls(full)


@pytest.mark.timeout(90)
def test_watch_cfn_and_request_see_the_same_deployments_and_long_poll_wakes(server):
    base, session = server
    api = f"{base}/v1/t-{secrets.token_hex(4)}"
    registered = _post(session, f"{api}/servers", {"name": "vm"})
    occ = registered["os-collect-config"]
    collectors = {name: _collector(name, occ[name]) for name in ("watch", "cfn", "request")}
    collectors["watch"].wait = 20.0
    for collector in collectors.values():
        [(key, document)] = collector.collect()
        assert key == collector.name and document["deployments"] == []

    # a held long poll returns as soon as a deployment exists
    result = {}
    watcher = threading.Thread(target=lambda: result.update(doc=collectors["watch"].collect()))
    watcher.start()
    time.sleep(0.5)  # let the request reach the server and be held (nothing to await from outside)
    assert watcher.is_alive()
    config = _post(session, f"{api}/software_configs", {"name": "c", "group": "script", "config": "true"})
    created = time.monotonic()
    _post(session, f"{api}/software_deployments", {
        "config_id": config["software_config"]["id"], "server_id": registered["server"]["id"],
        "signal_transport": "NO_SIGNAL", "name": "d1"})
    watcher.join(15)
    assert not watcher.is_alive()
    latency = time.monotonic() - created
    assert latency < 5, latency
    [(_, watched)] = result["doc"]
    assert [item["name"] for item in watched["deployments"]] == ["d1"]

    for name in ("cfn", "request"):
        [(_, document)] = collectors[name].collect()
        assert document["deployments"] == watched["deployments"], name

    # nothing changes: the server holds the request for the whole wait, then answers 304
    collectors["watch"].wait = 1.0
    assert collectors["watch"].collect() == result["doc"]
    assert 0.9 <= collectors["watch"].held_for < 10
