"""The URL signal transport (CFN_SIGNAL / TEMP_URL_SIGNAL) and transport selection."""
import json

import pytest

from agent.signals import SignalError, TransportSelector
from agent.signals.url import MAX_BODY_CHARS, UrlTransport, trimmed_body

PAYLOAD = {"deploy_stdout": "out", "deploy_stderr": "", "deploy_status_code": 0, "result": "42"}


def no_sleep_transport(sleeps=None):
    return UrlTransport(sleep=(sleeps.append if sleeps is not None else lambda s: None))


@pytest.mark.parametrize("verb, method", [("PUT", "PUT"), ("POST", "POST"), ("put", "POST"), (None, "POST")])
def test_verb_and_body(http_server, item_factory, verb, method):
    url = http_server.url("/v1/signal/deployments/d1?sig=abc")
    item = item_factory(signal_url=url, verb=verb)
    no_sleep_transport().send(item, PAYLOAD)
    [request] = http_server.wait_for(1)
    assert request.method == method
    assert request.path == "/v1/signal/deployments/d1?sig=abc"
    assert request.headers["content-type"] == "application/json"
    assert request.json() == PAYLOAD


def test_large_output_is_trimmed_from_the_start(http_server, item_factory):
    stdout = "S" * 600000 + "stdout-tail"
    stderr = "E" * 600000 + "stderr-tail"
    payload = {"deploy_stdout": stdout, "deploy_stderr": stderr, "deploy_status_code": 1, "result": "kept"}
    no_sleep_transport().send(item_factory(signal_url=http_server.url("/s")), payload)
    [request] = http_server.wait_for(1)
    assert len(request.body) <= MAX_BODY_CHARS
    body = request.json()
    assert body["deploy_stdout"].endswith("stdout-tail") and body["deploy_stderr"].endswith("stderr-tail")
    assert body["result"] == "kept" and body["deploy_status_code"] == 1
    # both were cut, in proportion
    assert abs(len(body["deploy_stdout"]) - len(body["deploy_stderr"])) < 10


@pytest.mark.parametrize("limit", [100, 150, 400])
def test_trimmed_body_fits_even_with_escapes(limit):
    payload = {"deploy_stdout": "é\n" * 200, "deploy_stderr": "x" * 50, "deploy_status_code": 0}
    body = trimmed_body(payload, limit)
    assert len(body) <= limit
    assert json.loads(body)["deploy_status_code"] == 0
    assert trimmed_body({"deploy_status_code": 0}, limit) == '{"deploy_status_code": 0}'


def test_5xx_is_retried_with_backoff(http_server, item_factory):
    http_server.respond(503, times=2)
    sleeps = []
    no_sleep_transport(sleeps).send(item_factory(signal_url=http_server.url("/s")), PAYLOAD)
    requests = http_server.wait_for(3)
    assert [r.json() for r in requests] == [PAYLOAD] * 3
    assert sleeps == [0.5, 1.0]


def test_5xx_that_persists_is_a_retryable_error(http_server, item_factory):
    http_server.respond(500, times=3)
    with pytest.raises(SignalError) as err:
        no_sleep_transport().send(item_factory(signal_url=http_server.url("/s?sig=secret")), PAYLOAD)
    assert err.value.retryable
    assert "500" in str(err.value) and "secret" not in str(err.value)


def test_4xx_is_refused_for_good_without_retry(http_server, item_factory):
    http_server.respond(403, {"code": 403, "error": {"message": "signature does not match"}})
    with pytest.raises(SignalError) as err:
        no_sleep_transport().send(item_factory(signal_url=http_server.url("/v1/signal/deployments/d?sig=bad")),
                                  PAYLOAD)
    assert not err.value.retryable
    assert str(err.value) == (f"PUT {http_server.url('/v1/signal/deployments/d?sig=***')} answered 403 Forbidden: "
                              "signature does not match")
    assert len(http_server.requests) == 1


def test_connection_refused_is_retryable(closed_url, item_factory):
    url = closed_url("/v1/signal/deployments/d?sig=s3cret")
    sleeps = []
    with pytest.raises(SignalError) as err:
        no_sleep_transport(sleeps).send(item_factory(signal_url=url), PAYLOAD)
    assert err.value.retryable
    assert str(err.value).endswith(": connection refused")
    assert "s3cret" not in str(err.value)
    assert len(sleeps) == 2


def test_transport_is_chosen_by_presence_of_inputs(item_factory):
    select = TransportSelector()
    with_url = select(item_factory())
    assert isinstance(with_url, UrlTransport)
    assert select(item_factory("other")) is with_url  # one instance per kind
    assert select(item_factory(signal_url=None)) is None
