"""`stoker server --event-webhook --zaqar-url`: a running server sends each event, signed with
the secret from its environment, to the operator's receiver, and to the Zaqar queue a stack's
environment names; the secret stays out of its log."""
from __future__ import annotations

import json
import subprocess
import time

import pytest
import requests

from cli.processes import Process, child_env, stoker_argv
from metadata_server.store.event_sinks_spec import verify
from tests.server.test_event_sinks import TEMPLATE, Receiver
from tests.server.test_event_sinks_zaqar import FakeZaqar
from tests.waiting import until

SECRET = "operator-webhook-secret-4711"
TOKEN = "admin-token-for-event-sink-tests"


@pytest.mark.timeout(90)
def test_the_server_signs_and_sends_every_event(tmp_path):
    receiver, zaqar = Receiver(), FakeZaqar()
    server = Process("server", stoker_argv(
        "server", "--bind", "127.0.0.1:0", "--state-dir", str(tmp_path / "state"),
        "--event-webhook", receiver.url, "--zaqar-url", zaqar.url, "--log-level", "DEBUG"),
        tmp_path / "server.log",
        child_env(STOKER_ADMIN_TOKEN=TOKEN, STOKER_EVENT_WEBHOOK_SECRET=SECRET))
    try:
        line = server.wait_for_line("listening on", 40)
        base = line.rsplit(" ", 1)[1]
        headers = {"X-Auth-Token": TOKEN}
        answer = requests.post(f"{base}/v1/t1/stacks", json={
            "stack_name": "watched", "template": TEMPLATE, "environment": {
                "event_sinks": [{"type": "zaqar-queue", "target": "watched-events"}]}},
            headers=headers, timeout=30)
        assert answer.status_code == 201, answer.text
        url = f"{base}/v1/t1/stacks/watched/{answer.json()['stack']['id']}"
        until(lambda: requests.get(url, headers=headers, timeout=10).json()["stack"]
              ["stack_status"] == "CREATE_COMPLETE", what="CREATE_COMPLETE")
        events = requests.get(url + "/events", headers=headers, timeout=10).json()["events"]
        expected = {e["id"] for e in events}
        until(lambda: receiver.event_ids() >= expected, what="every event at the receiver")
        until(lambda: zaqar.event_ids("watched-events") >= expected, what="every event queued")
        assert all(verify(SECRET, h, b, time.time()) for h, b in receiver.received)
        assert all(json.loads(b)["stack_name"] == "watched" for _, b in receiver.received)
        until(lambda: 'stoker_event_sink_delivered_total{sink="server"}' in
              requests.get(f"{base}/metrics", timeout=10).text, what="deliveries in /metrics")
    finally:
        server.stop()
        receiver.close()
        zaqar.close()
    assert SECRET not in server.log()


@pytest.mark.timeout(60)
def test_a_server_webhook_without_a_secret_is_refused_in_one_line(tmp_path):
    result = subprocess.run(stoker_argv("server", "--bind", "127.0.0.1:0", "--state-dir",
                                        str(tmp_path / "state"), "--event-webhook",
                                        "http://127.0.0.1:9/hook"),
                            capture_output=True, text=True, env=child_env(), timeout=50)
    assert result.returncode == 1
    assert "--event-webhook needs a secret" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.timeout(60)
@pytest.mark.parametrize("value, fault", [("cloud", "needs --cloud-driver openstack"),
                                          ("zaqar.example", "neither an http(s) URL")])
def test_a_zaqar_url_the_server_cannot_use_is_refused_in_one_line(tmp_path, value, fault):
    result = subprocess.run(stoker_argv("server", "--bind", "127.0.0.1:0", "--state-dir",
                                        str(tmp_path / "state"), "--zaqar-url", value),
                            capture_output=True, text=True, env=child_env(), timeout=50)
    assert result.returncode == 1
    assert fault in result.stderr
    assert "Traceback" not in result.stderr
