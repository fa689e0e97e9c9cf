"""The agent's metrics reach a real `stoker server`'s ingest route, by every derived URL.

Interop: the URLs the agent derives from the collectors' settings that registering a server
returns must be the ones the server takes, and the server's 429 must come back as a retry that
waits its Retry-After.
"""
import json
import re
import secrets
import time

import pytest
import requests

from agent.metrics import sender
from agent.metrics.batch import SampleQueue
from agent.metrics.reporter import Reporter
from agent.metrics.system import SystemMetrics
from cli.processes import start_server

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(90)]
# a real `stoker server`: skipped where only the agent is installed (the agent-side runs on 3.9)
pytest.importorskip("flask", reason="needs the server (stoker[server], Python 3.11+)")


@pytest.fixture
def server(tmp_path):
    token = secrets.token_urlsafe(16)
    process, base = start_server(tmp_path / "server", token, tmp_path / "server.log", None,
                                 "127.0.0.1:0", "--metrics-min-interval", "30")
    session = requests.Session()
    session.headers["X-Auth-Token"] = token
    yield base, session
    assert process.stop() == 0


def received(base) -> float:
    text = requests.get(f"{base}/metrics", timeout=10).text
    return float(re.search(r"^stoker_metric_samples_received_total (\S+)$", text, re.M).group(1))


def test_both_derived_urls_deliver_and_a_429_is_a_retry_after_its_wait(server, tmp_path):
    base, session = server
    system = SystemMetrics(str(tmp_path))
    for name in ("request", "watch"):  # a server each: the rate limit is per server
        answer = session.post(f"{base}/v1/t-{secrets.token_hex(4)}/servers", json={"name": "vm"}, timeout=10)
        assert answer.status_code == 201, answer.text
        occ = answer.json()["os-collect-config"]
        target = sender.target_from([name], occ)
        assert target is not None, name
        rep = Reporter(system.sample, sender.Sender(target), 1, 1, queue=SampleQueue())
        for _ in range(3):
            rep.queue.add(rep.wall(), system.sample())
        before = received(base)
        rep.flush()
        assert len(rep.queue) == 0, name
        assert received(base) == before + 3
        # a second batch within --metrics-min-interval: the server sheds it, the agent keeps it
        rep.queue.add(rep.wall(), {"queue_depth": 3.0})
        outcome = rep.sender.post(rep.queue.next_body()[1])
        assert (outcome.result, outcome.detail.split(": ", 1)[1][:3]) == (sender.RETRY, "429")
        assert 0 < outcome.retry_after <= 30


def test_heat_collector_credentials_log_in_to_keystone_and_post_to_the_orchestration_endpoint(server, tmp_path):
    base, session = server
    tenant = f"t-{secrets.token_hex(4)}"
    answer = session.post(f"{base}/v1/{tenant}/servers", json={"name": "vm"}, timeout=10)
    assert answer.status_code == 201, answer.text
    server_id, password = answer.json()["server"]["id"], answer.json()["credential"]["token"]
    # the heat collector's settings as stoker's keystone shim hands them out
    heat = {"auth_url": f"{base}/v3", "user_id": server_id, "password": password, "project_id": tenant,
            "stack_id": "s/1", "resource_name": "server"}
    target = sender.target_from(["heat"], {"heat": heat})
    assert isinstance(target, sender.KeystoneTarget) and password not in target.shown
    post = sender.Sender(target)
    before = received(base)
    body = json.dumps({"samples": [{"time": time.time(), "metrics": SystemMetrics(str(tmp_path)).sample()}]})
    outcome = post.post(body.encode())
    assert outcome.result == sender.SENT, outcome.detail
    assert received(base) == before + 1
    # a rotated credential: the held keystone token is refused (401), the agent logs in once more,
    # keystone refuses the old password, and the samples are kept for a later retry
    rotated = session.post(f"{base}/v1/{tenant}/servers/{server_id}/credentials", json={}, timeout=10)
    assert rotated.status_code in (200, 201), rotated.text
    outcome = post.post(body.encode())
    assert outcome.result == sender.RETRY and "refused the credentials (401)" in outcome.detail, outcome.detail
    assert password not in outcome.detail
