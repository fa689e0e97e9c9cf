"""Signal retries honour a server's `Retry-After`, within a cap, and never sooner than asked.

One case per file in fixtures/agent_retry_after/: the status a loopback server answers every
signal with, its `Retry-After` (seconds as text, or `{"date_in": S, "form": ...}` for an HTTP
date S seconds after the agent's clock, in the IMF, RFC 850 or asctime form) and its `Date`
(`server_clock` seconds ahead of the agent's clock, 0 when absent, null for an unreadable one);
then what must happen: the sleeps between the tries inside one send (3 tries, 0.5 s backoff), the
outbox's outcome, how long after now the outbox will try again (its own backoff is 1 s, no
jitter), and the wait the error shows (`shown`, null when it names no Retry-After).
"""
import json
import time
from email.utils import formatdate
from pathlib import Path

import pytest

from agent.outbox import Outbox
from agent.signals.cfn import CfnTransport
from agent.signals.heat import HeatTransport
from stoker_common.http_client import HttpClient

CASES = Path(__file__).parent / "fixtures" / "agent_retry_after"
NOW = 1_800_000_000.0
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def http_date(when: float, form: str = "imf") -> str:
    t = time.gmtime(when)
    if form == "imf":
        return formatdate(when, usegmt=True)
    if form == "rfc850":
        return (f"{DAYS[t.tm_wday]}, {t.tm_mday:02d}-{MONTHS[t.tm_mon - 1]}-{t.tm_year % 100:02d} "
                f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} GMT")
    if form == "asctime":
        return (f"{DAYS[t.tm_wday][:3]} {MONTHS[t.tm_mon - 1]} {t.tm_mday:2d} "
                f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} {t.tm_year}")
    raise ValueError(form)


def outbox_with(transport, tmp_path):
    return Outbox(str(tmp_path / "outbox"), choose=lambda item: transport, clock=lambda: NOW,
                  retry_base=1.0, jitter=0.0)


@pytest.mark.parametrize("case", sorted(p.stem for p in CASES.glob("*.json")))
def test_agent_retry_after(case, http_server, tmp_path):
    spec = json.loads((CASES / f"{case}.json").read_text())
    server_clock = spec.get("server_clock", 0)
    headers = {"Date": "not a date" if server_clock is None else http_date(NOW + server_clock)}
    header = spec["retry_after"]
    if isinstance(header, dict):
        header = http_date(NOW + header["date_in"], header.get("form", "imf"))
    if header is not None:
        headers["Retry-After"] = header
    http_server.handler = lambda request: (spec["status"], headers, b'{"error": "busy"}')
    sleeps = []
    transport = CfnTransport(http=HttpClient(), attempts=3, backoff=0.5, sleep=sleeps.append, clock=lambda: NOW)
    outbox = outbox_with(transport, tmp_path)
    item = {"id": "dep-1", "name": "dep-1", "group": "script",
            "inputs": [{"name": "deploy_signal_id", "value": http_server.url("/signal")}]}

    outcome = outbox.deliver(item, {"deploy_status_code": 0})

    assert outcome == spec["outcome"]
    assert sleeps == spec["sleeps"]
    assert len(http_server.requests) == 1 + len(spec["sleeps"])
    if spec["next_try_in"] is None:
        assert outbox.entries() == []
        return
    [entry] = outbox.entries()
    assert entry["next_try_at"] - NOW == pytest.approx(spec["next_try_in"])
    if spec["shown"] is None:
        assert "Retry-After" not in entry["last_error"]
    else:
        assert entry["last_error"].endswith(f"(Retry-After: {spec['shown']}s)")


def test_a_keystone_token_request_answered_retry_after_holds_the_heat_signal(http_server, tmp_path):
    http_server.handler = lambda request: (429, {"Retry-After": "45"}, b"{}")
    transport = HeatTransport(http=HttpClient(), attempts=3, backoff=0.5, sleep=pytest.fail, clock=lambda: NOW)
    outbox = outbox_with(transport, tmp_path)
    inputs = {"deploy_auth_url": http_server.url("/identity"), "deploy_user_id": "u", "deploy_password": "p",
              "deploy_project_id": "proj", "deploy_stack_id": "st/1", "deploy_resource_name": "dep"}
    item = {"id": "dep-1", "name": "dep-1", "group": "script",
            "inputs": [{"name": k, "value": v} for k, v in inputs.items()]}

    assert outbox.deliver(item, {"deploy_status_code": 0}) == "pending"

    [request] = http_server.requests
    assert request.path == "/identity/v3/auth/tokens"
    [entry] = outbox.entries()
    assert entry["next_try_at"] - NOW == pytest.approx(45)
