"""HEAT_SIGNAL and ZAQAR_SIGNAL against recorded HTTP exchanges replayed on loopback: one fixture
file per case under fixtures/signals/, one runner.

A case has `transport` (the name the real selection rules must pick), `inputs` (the deployment's
inputs; `{base}` is the loopback server), `payload`, optional `sends` (how many times the same
result is sent, default 1), `exchanges` (in order: the request expected — method, path, and
optionally `json` and a subset of lower-cased `headers`, "*" meaning present — and the response to
replay), and `expect_error` ({retryable, contains}) when the send must fail.
"""
import json
from pathlib import Path

import pytest

from agent.signals import SignalError, TransportSelector, transport_name

CASES = sorted((Path(__file__).parent / "fixtures" / "signals").glob("*.json"))


def fill(value, base):
    if isinstance(value, str):
        return value.replace("{base}", base)
    if isinstance(value, list):
        return [fill(v, base) for v in value]
    if isinstance(value, dict):
        return {k: fill(v, base) for k, v in value.items()}
    return value


@pytest.mark.timeout(20)
@pytest.mark.parametrize("case_file", CASES, ids=[c.stem for c in CASES])
def test_signal_exchange(case_file, http_server):
    case = fill(json.loads(case_file.read_text()), http_server.url("").rstrip("/"))
    exchanges = list(case["exchanges"])
    mismatches = []

    def replay(request):
        if not exchanges:
            mismatches.append(f"unexpected {request.method} {request.path}")
            return 599, {}, b"{}"
        expected, response = exchanges[0]["request"], exchanges[0]["response"]
        exchanges.pop(0)
        if (request.method, request.path) != (expected["method"], expected["path"]):
            mismatches.append(f"expected {expected['method']} {expected['path']}, got {request.method} {request.path}")
        if "json" in expected and request.json() != expected["json"]:
            mismatches.append(f"{request.path}: body {request.json()} != {expected['json']}")
        for name, value in expected.get("headers", {}).items():
            got = request.headers.get(name)
            if got is None or (value != "*" and got != value):
                mismatches.append(f"{request.path}: header {name}: {got!r} != {value!r}")
        headers = dict(response.get("headers", {}), **{"Content-Type": "application/json"})
        return response["status"], headers, json.dumps(response.get("json", {})).encode()

    http_server.handler = replay
    item = {"id": "dep-1", "name": "dep", "inputs": [{"name": k, "type": "String", "value": v}
                                                     for k, v in case["inputs"].items()]}
    assert transport_name(item) == case["transport"]
    transport = TransportSelector()(item)
    transport.attempts, transport.sleep = 1, lambda s: None

    error = None
    try:
        for _ in range(case.get("sends", 1)):
            transport.send(item, case["payload"], "attempt-1")
    except SignalError as exc:
        error = exc
    assert mismatches == [], case["about"]
    assert exchanges == [], f"{case['about']}: exchanges not made: {exchanges}"
    if "expect_error" in case:
        assert error is not None, case["about"]
        assert error.retryable == case["expect_error"]["retryable"], str(error)
        assert case["expect_error"]["contains"] in str(error)
        assert "pw" not in str(error).split()  # the password never appears
    else:
        assert error is None, f"{case['about']}: {error}"
