"""Event sinks: a stack created through the API sends its events, signed, to a real receiving
HTTP server on 127.0.0.1; a failing receiver still gets every event (at least once), and a hung
one does not hold the stack's create back."""
from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from metadata_server.api.app_engine import start_engine
from metadata_server.engine.drivers import FakeDriver
from metadata_server.service.endpoints import Endpoints
from metadata_server.service.event_sinks import DeliveryOptions, EventDelivery
from metadata_server.store.event_sinks_spec import EVENT_ID_HEADER, verify
from metadata_server.store import event_outbox
from tests.server.conftest import Api, app  # noqa: F401  (the app fixture)
from tests.waiting import until

pytestmark = pytest.mark.timeout(90)
SECRET = "tenant-webhook-secret"
TEMPLATE = {"heat_template_version": "2018-08-31", "resources": {
    name: {"type": "OS::Heat::RandomString"} for name in ("a", "b", "c")}}


class Receiver:
    """An HTTP server that records each POST; `fail_first` attempts answer 503, and while
    `hang` is set a request waits for `release`."""

    def __init__(self, fail_first: int = 0, hang: bool = False):
        self.received: list[tuple[dict, bytes]] = []
        self.attempts = 0
        self.fail_first, self.hang = fail_first, hang
        self.release, self.hung = threading.Event(), threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with lock:
                    receiver.attempts += 1
                    failing = receiver.attempts <= receiver.fail_first
                if receiver.hang and not receiver.release.is_set():
                    receiver.hung.set()
                    receiver.release.wait(60)
                if failing:
                    self.send_response(503)
                    self.send_header("Retry-After", "0")
                else:
                    with lock:
                        receiver.received.append((dict(self.headers), body))
                    self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook?token=x"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def close(self):
        self.release.set()
        self.server.shutdown()
        self.server.server_close()

    def event_ids(self) -> set[str]:
        return {json.loads(body)["id"] for _, body in list(self.received)}


@pytest.fixture
def receivers():
    made: list[Receiver] = []

    def make(**kw) -> Receiver:
        made.append(Receiver(**kw))
        return made[-1]
    yield make
    for receiver in made:
        receiver.close()


@pytest.fixture
def delivery(app):  # noqa: F811
    started: list[EventDelivery] = []

    def make(**options) -> EventDelivery:
        options = {"allow_networks": ["127.0.0.0/8"], "backoff_base": 0.05,
                   "poll_interval": 0.2, **options}
        started.append(EventDelivery(app.extensions["stoker"].store.engine,
                                     app.extensions["stoker"].metrics,
                                     DeliveryOptions(**options)).start())
        return started[-1]
    start_engine(app, Endpoints("http://stoker.test", "k"), FakeDriver())
    yield make
    for worker in started:
        worker.stop()
    event_outbox.SETTINGS.server_sink = event_outbox.SETTINGS.zaqar = False
    event_outbox.SETTINGS.max_pending_per_tenant = DeliveryOptions().max_pending_per_tenant


def _create(api: Api, name: str, sinks: list[dict]) -> str:
    answer = api.post("/v1/t1/stacks", {"stack_name": name, "template": TEMPLATE,
                                        "environment": {"event_sinks": sinks}})
    assert answer.status_code == 201, answer.get_data(as_text=True)
    return f"/v1/t1/stacks/{name}/{answer.json['stack']['id']}"


def _status(api: Api, url: str) -> str:
    return api.get(url).json["stack"]["stack_status"]


def _api_event_ids(api: Api, url: str) -> set[str]:
    return {e["id"] for e in api.get(url + "/events").json["events"]}


def test_a_created_stack_sends_its_events_signed(app, receivers, delivery):  # noqa: F811
    api, receiver = Api(app.test_client(), "admin-token-for-tests"), receivers()
    delivery()
    url = _create(api, "hooked", [{"type": "webhook", "target": receiver.url,
                                   "secret": SECRET}])
    until(lambda: _status(api, url) == "CREATE_COMPLETE", what="CREATE_COMPLETE")
    expected = _api_event_ids(api, url)
    assert len(expected) == 8   # the stack's and each resource's IN_PROGRESS and COMPLETE
    until(lambda: receiver.event_ids() >= expected, what="every event at the receiver")
    for headers, body in receiver.received:
        assert verify(SECRET, headers, body, time.time())
        assert not verify("another secret", headers, body, time.time())
        event = json.loads(body)
        assert headers[EVENT_ID_HEADER] == event["id"]
        assert event["stack_name"] == "hooked" and event["stack_id"] in url
    shown = {e["id"]: e for e in api.get(url + "/events").json["events"]}
    for _, body in receiver.received:
        event = json.loads(body)
        for key in ("resource_name", "physical_resource_id", "logical_resource_id",
                    "resource_status", "resource_status_reason", "event_time"):
            assert event[key] == shown[event["id"]][key], key
        assert event["resource_status"].startswith(event["resource_action"] + "_")
    until(lambda: app.extensions["stoker"].metrics.value("stoker_event_sink_delivered_total",
                                                         sink="webhook") >= 8,
          what="the deliveries counted")


def test_a_failing_receiver_still_gets_every_event(app, receivers, delivery):  # noqa: F811
    api, receiver = Api(app.test_client(), "admin-token-for-tests"), receivers(fail_first=5)
    worker = delivery()
    url = _create(api, "flaky", [{"type": "webhook", "target": receiver.url}])
    until(lambda: _status(api, url) == "CREATE_COMPLETE", what="CREATE_COMPLETE")
    expected = _api_event_ids(api, url)
    until(lambda: receiver.event_ids() >= expected, what="every event despite failures")
    assert receiver.attempts >= len(expected) + 5
    until(lambda: worker.outbox.pending() == 0, what="the outbox emptied")
    metrics = app.extensions["stoker"].metrics
    assert metrics.value("stoker_event_sink_retries_total", sink="webhook") >= 5
    assert metrics.value("stoker_event_sink_failed_total", sink="webhook") == 0


def test_a_hung_receiver_does_not_hold_the_create_back(app, receivers, delivery):  # noqa: F811
    api = Api(app.test_client(), "admin-token-for-tests")
    hung, healthy = receivers(hang=True), receivers()
    # a small batch: the hung sink's older waiting rows alone fill it, unless a busy sink's
    # rows are left out of the read
    delivery(read_timeout=60, threads=3, batch=4)
    url = _create(api, "patient", [{"type": "webhook", "target": hung.url}])
    assert hung.hung.wait(30), "the hung receiver was never reached"
    until(lambda: _status(api, url) == "CREATE_COMPLETE", what="CREATE_COMPLETE while hung")
    expected = _api_event_ids(api, url)
    # another tenant's sink is not starved by the hung one
    other = _create(api, "bystander", [{"type": "webhook", "target": healthy.url}])
    until(lambda: _status(api, other) == "CREATE_COMPLETE", what="the other CREATE_COMPLETE")
    until(lambda: healthy.event_ids() >= _api_event_ids(api, other),
          what="the healthy sink's events")
    assert not hung.release.is_set() and not hung.event_ids()
    hung.release.set()
    until(lambda: hung.event_ids() >= expected, what="the hung sink's events once released")


def test_the_server_wide_webhook_gets_events_of_stacks_without_sinks(app, receivers,  # noqa: F811
                                                                     delivery):
    api, receiver = Api(app.test_client(), "admin-token-for-tests"), receivers()
    delivery(server_url=receiver.url, server_secret="operator-secret")
    url = _create(api, "plain", [])
    until(lambda: _status(api, url) == "CREATE_COMPLETE", what="CREATE_COMPLETE")
    expected = _api_event_ids(api, url)
    until(lambda: receiver.event_ids() >= expected, what="every event at the server's hook")
    assert all(verify("operator-secret", h, b, time.time()) for h, b in receiver.received)


def test_a_tenant_target_on_an_internal_address_is_refused(app, receivers,  # noqa: F811
                                                           delivery):
    api, receiver = Api(app.test_client(), "admin-token-for-tests"), receivers()
    worker = delivery(allow_networks=[])
    url = _create(api, "nosy", [{"type": "webhook", "target": receiver.url}])
    until(lambda: _status(api, url) == "CREATE_COMPLETE", what="CREATE_COMPLETE")
    until(lambda: worker.outbox.pending() == 0, what="the refused deliveries dropped")
    assert receiver.attempts == 0
    assert app.extensions["stoker"].metrics.value("stoker_event_sink_failed_total",
                                                  sink="webhook") >= 8


@pytest.mark.parametrize("sink, fault", [
    ({"type": "webhook", "target": "ftp://example.com/x"}, "http(s) URL"),
    ({"type": "webhook", "target": "http://example.com/", "secret": 5}, "secret"),
    ({"type": "webhook", "target": "http://example.com/", "header": "x"}, "unknown keys"),
    ({"type": "carrier-pigeon", "target": "x"}, "an event sink must be"),
    ({"type": "zaqar-queue", "target": "../../v2/queues"}, "queue name"),
    ({"type": "zaqar-queue", "target": "q", "ttl": "1h"}, "ttl"),
])
def test_a_bad_sink_is_refused_at_create_naming_it(app, sink, fault):  # noqa: F811
    api = Api(app.test_client(), "admin-token-for-tests")
    start_engine(app, Endpoints("http://stoker.test", "k"), FakeDriver())
    answer = api.post("/v1/t1/stacks", {"stack_name": "bad", "template": TEMPLATE,
                                        "environment": {"event_sinks": [sink]}})
    assert answer.status_code == 400, answer.get_data(as_text=True)
    assert fault in answer.get_data(as_text=True)
    assert "event_sinks" in answer.get_data(as_text=True)


def test_an_event_never_accepted_is_given_up_when_too_old_and_logged_without_secrets(
        app, receivers, delivery, caplog):  # noqa: F811
    api, receiver = Api(app.test_client(), "admin-token-for-tests"), receivers(fail_first=10**6)
    worker = delivery(max_age=0.5)
    url = _create(api, "doomed", [{"type": "webhook", "target": receiver.url,
                                   "secret": SECRET}])
    until(lambda: _status(api, url) == "CREATE_COMPLETE", what="CREATE_COMPLETE")
    until(lambda: worker.outbox.pending() == 0, what="the undeliverable events given up")
    metrics = app.extensions["stoker"].metrics
    assert metrics.value("stoker_event_sink_failed_total", sink="webhook") == 8
    assert receiver.attempts >= 8 and not receiver.received
    given_up = [r.getMessage() for r in caplog.records if "not delivered" in r.getMessage()]
    assert len(given_up) == 8 and "127.0.0.1" in given_up[0] and "HTTP 503" in given_up[0]
    assert not any(SECRET in m or "token=x" in m for m in caplog.messages)


def test_a_tenant_past_its_pending_limit_has_new_deliveries_dropped_and_counted(
        app, receivers, delivery):  # noqa: F811
    api, receiver = Api(app.test_client(), "admin-token-for-tests"), receivers(hang=True)
    worker = delivery(max_pending_per_tenant=3, per_sink=1, threads=2)
    dropped = event_outbox.SETTINGS.dropped
    url = _create(api, "chatty", [{"type": "webhook", "target": receiver.url}])
    until(lambda: _status(api, url) == "CREATE_COMPLETE", what="CREATE_COMPLETE")
    assert worker.outbox.pending() <= 3
    assert event_outbox.SETTINGS.dropped - dropped >= 5
    metrics = api.client.get("/metrics").get_data(as_text=True)
    assert f"stoker_event_sink_dropped_total {event_outbox.SETTINGS.dropped}" in metrics


def test_a_nested_stack_inherits_its_parents_sinks(app, receivers, delivery):  # noqa: F811
    api, receiver = Api(app.test_client(), "admin-token-for-tests"), receivers()
    delivery()
    answer = api.post("/v1/t1/stacks", {
        "stack_name": "outer", "environment": {"event_sinks": [
            {"type": "webhook", "target": receiver.url}]},
        "template": {"heat_template_version": "2018-08-31",
                     "resources": {"inner": {"type": "inner.yaml"}}},
        "files": {"inner.yaml": json.dumps(TEMPLATE)}})
    assert answer.status_code == 201, answer.get_data(as_text=True)
    url = f"/v1/t1/stacks/outer/{answer.json['stack']['id']}"
    until(lambda: _status(api, url) == "CREATE_COMPLETE", what="CREATE_COMPLETE")

    def inner_resources() -> set[str]:
        return {e["resource_name"] for e in (json.loads(b) for _, b in list(receiver.received))
                if e["stack_id"] not in url and e["resource_status"] == "CREATE_COMPLETE"}
    until(lambda: inner_resources() >= {"a", "b", "c"}, what="the nested stack's events too")
