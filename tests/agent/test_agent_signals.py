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
    assert len(http_server.wait_for(1)) == 1


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


def test_temp_url_is_always_put_and_every_result_carries_its_attempt(http_server, item_factory):
    item = item_factory(signal_url=http_server.url("/v1/AUTH_x/c/obj?temp_url_sig=s"), verb="POST")
    item["inputs"].append({"name": "deploy_signal_transport", "type": "String", "value": "TEMP_URL_SIGNAL"})
    transport = TransportSelector()(item)
    assert type(transport).__name__ == "TempUrlTransport"
    transport.send(item, PAYLOAD, "a-1")
    [request] = http_server.wait_for(1)
    assert request.method == "PUT" and request.headers["x-stoker-attempt"] == "a-1"


def test_cfn_signal_follows_the_verb(http_server, item_factory):
    item = item_factory(signal_url=http_server.url("/v1/signal/x"), verb="POST")
    item["inputs"].append({"name": "deploy_signal_transport", "type": "String", "value": "CFN_SIGNAL"})
    transport = TransportSelector()(item)
    assert type(transport).__name__ == "CfnTransport"
    transport.send(item, PAYLOAD, "a-2")
    [request] = http_server.wait_for(1)
    assert request.method == "POST" and request.headers["x-stoker-attempt"] == "a-2"


@pytest.mark.parametrize("status", [408, 429, 502])
def test_408_429_and_5xx_are_retryable(http_server, item_factory, status):
    http_server.respond(status, times=3)
    with pytest.raises(SignalError) as err:
        no_sleep_transport().send(item_factory(signal_url=http_server.url("/s")), PAYLOAD)
    assert err.value.retryable


@pytest.mark.parametrize("status", [400, 404, 409, 413])
def test_other_4xx_are_final(http_server, item_factory, status):
    http_server.respond(status)
    with pytest.raises(SignalError) as err:
        no_sleep_transport().send(item_factory(signal_url=http_server.url("/s")), PAYLOAD)
    assert not err.value.retryable and len(http_server.wait_for(1)) == 1


@pytest.mark.parametrize("url, metadata_url, expected", [
    ("http://10.0.0.1:8004/v1/signal/deployments/d?sig=x", "http://10.0.0.1:8004/v1/t/servers/s/metadata", True),
    ("http://10.0.0.1/v1/signal/deployments/d", "http://10.0.0.1:80/v1/t/servers/s/metadata", True),
    ("HTTP://Server:8004/v1/signal/deployments/d", "http://server:8004/v1/t/servers/s/metadata", True),
    ("http://10.0.0.1:8000/v1/signal/arn%3Aopenstack", "http://10.0.0.1:8004/v1/t/servers/s/metadata", False),
    ("http://10.0.0.1:8004/v1/AUTH_x/c/o?temp_url_sig=1", "http://10.0.0.1:8004/v1/t/servers/s/metadata", False),
    ("https://10.0.0.1:8004/v1/signal/deployments/d", "http://10.0.0.1:8004/v1/t/servers/s/metadata", False),
    ("http://10.0.0.2:8004/v1/signal/deployments/d", "http://10.0.0.1:8004/v1/t/servers/s/metadata", False),
    ("http://10.0.0.1:8004/v1/signal/deployments/d", None, False),
    (None, "http://10.0.0.1:8004/m", False),
])
def test_phase_signals_only_go_to_stokers_own_signal_urls(url, metadata_url, expected):
    from agent.signals.native import is_stoker_signal_url
    assert is_stoker_signal_url(url, metadata_url) is expected


def test_phase_report_is_a_put_of_an_empty_object(http_server, item_factory):
    from agent.signals.native import PhaseReporter
    item = item_factory(signal_url=http_server.url("/v1/signal/deployments/d1?sig=x"))
    assert PhaseReporter(http_server.url("/v1/t/servers/s/metadata")).report(item)
    [request] = http_server.wait_for(1)
    assert (request.method, request.path, request.body) == ("PUT", "/v1/signal/deployments/d1?sig=x", b"{}")
    assert request.headers["x-stoker-phase"] == "running"
    # a Heat CFN URL on the same host never gets one (Heat would take it as the result)
    other = item_factory(signal_url=http_server.url("/v1/signal/arn:openstack:heat::t:stacks/s/resources/r"))
    assert not PhaseReporter(http_server.url("/v1/t/servers/s/metadata")).report(other)
    assert len(http_server.wait_for(1)) == 1


def test_phase_report_failure_is_only_logged(closed_url, item_factory, caplog):
    from agent.signals.native import PhaseReporter
    caplog.set_level("INFO")
    url = closed_url("/v1/signal/deployments/d1?sig=secret")
    assert not PhaseReporter(url.replace("/v1/signal/deployments/d1?sig=secret", "/m")).report(
        item_factory(signal_url=url))
    assert "phase running not reported: connection refused" in caplog.text and "secret" not in caplog.text
