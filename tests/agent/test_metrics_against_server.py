"""The agent's metrics reach a real `stoker server`'s ingest route, by both derived URLs.

Interop: the URLs the agent derives from the collectors' settings that registering a server
returns must be the ones the server takes, and the server's 429 must come back as a retry that
waits its Retry-After.
"""
import re
import secrets

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
