"""zaqar-queue event sinks: a stack's events are posted to Zaqar's v2 messages API (a loopback
fake Zaqar records each request: Client-ID, project, queue, Heat's event document with ttl);
without a Zaqar the stack is refused at create, naming the sink."""
from __future__ import annotations

import json
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from metadata_server.api.app_engine import start_engine
from metadata_server.engine.drivers import FakeDriver
from metadata_server.service.endpoints import Endpoints
from metadata_server.service.zaqar_sink import CLOUD, ZaqarQueues
from tests.server.conftest import Api, app  # noqa: F401  (the app fixture)
from tests.server.test_event_sinks import (TEMPLATE, _api_event_ids, _status,  # noqa: F401
                                           delivery)
from tests.waiting import until

pytestmark = pytest.mark.timeout(90)


class FakeZaqar:
    """Answers POST /v2/queues/<queue>/messages as Zaqar does (201 with the message hrefs)
    after `fail_first` 503s, recording (path, headers, body) of each accepted post."""

    def __init__(self, fail_first: int = 0):
        self.posts: list[tuple[str, dict, dict]] = []
        self.attempts, self.fail_first = 0, fail_first
        fake, lock = self, threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with lock:
                    fake.attempts += 1
                    failing = fake.attempts <= fake.fail_first
                    if not failing:
                        fake.posts.append((self.path, dict(self.headers), body))
                if failing:
                    self.send_response(503)
                    self.send_header("Retry-After", "0")
                    self.end_headers()
                    return
                answer = json.dumps({"resources": [f"{self.path}/{uuid.uuid4().hex}"
                                                   for _ in body["messages"]]}).encode()
                self.send_response(201)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    def event_ids(self, queue: str) -> set[str]:
        return {m["body"]["id"] for path, _, body in list(self.posts)
                if path == f"/v2/queues/{queue}/messages" for m in body["messages"]}


@pytest.fixture
def zaqar():
    fake = FakeZaqar(fail_first=2)
    yield fake
    fake.close()


def _create(api: Api, name: str, sinks: list[dict]):
    return api.post("/v1/t1/stacks", {"stack_name": name, "template": TEMPLATE,
                                      "environment": {"event_sinks": sinks}})


def test_events_are_posted_to_zaqar_queues_as_heat_posts_them(app, zaqar, delivery):  # noqa: F811
    api = Api(app.test_client(), "admin-token-for-tests")
    delivery(zaqar=ZaqarQueues(zaqar.url))
    answer = _create(api, "queued", [{"type": "zaqar-queue", "target": "stack-events",
                                      "ttl": 120},
                                     {"type": "zaqar-queue", "target": "audit"}])
    assert answer.status_code == 201, answer.get_data(as_text=True)
    stack_id = answer.json["stack"]["id"]
    url = f"/v1/t1/stacks/queued/{stack_id}"
    until(lambda: _status(api, url) == "CREATE_COMPLETE", what="CREATE_COMPLETE")
    expected = _api_event_ids(api, url)
    # every event in both queues, the first two attempts' 503s retried
    until(lambda: zaqar.event_ids("stack-events") >= expected
          and zaqar.event_ids("audit") >= expected, what="every event in both queues")
    shown = {e["id"]: e for e in api.get(url + "/events").json["events"]}
    client_ids = set()
    for path, headers, body in zaqar.posts:
        client_ids.add(headers["Client-ID"])
        assert uuid.UUID(headers["Client-ID"])
        assert headers["X-Project-Id"] == "t1"
        assert headers["Content-Type"] == "application/json"
        assert "X-Auth-Token" not in headers    # no cloud session: a Zaqar without auth
        [message] = body["messages"]
        assert message["ttl"] == (120 if "stack-events" in path else 3600)
        event = message["body"]
        assert set(event) == {"timestamp", "version", "type", "id", "payload"}
        assert event["type"] == "os.heat.event" and event["version"] == "0.1"
        seen = shown[event["id"]]
        payload = event["payload"]
        assert payload["stack_id"] == stack_id
        assert payload["resource_name"] == seen["resource_name"]
        assert payload["physical_resource_id"] == seen["physical_resource_id"]
        # Heat's event document splits action and status
        assert f"{payload['resource_action']}_{payload['resource_status']}" \
            == seen["resource_status"]
        assert payload["resource_status_reason"] == seen["resource_status_reason"]
        assert event["timestamp"].startswith(seen["event_time"].rstrip("Z"))
    assert len(client_ids) == 1
    until(lambda: app.extensions["stoker"].metrics.value(
        "stoker_event_sink_delivered_total", sink="zaqar-queue") >= 2 * len(expected),
        what="the deliveries counted")


def test_a_zaqar_sink_without_a_zaqar_is_refused_at_create(app):  # noqa: F811
    api = Api(app.test_client(), "admin-token-for-tests")
    start_engine(app, Endpoints("http://stoker.test", "k"), FakeDriver())
    env = "event_sinks:\n  - {type: webhook, target: 'https://example.com/x'}\n" \
          "  - {type: zaqar-queue, target: my-queue}\n"
    answer = api.post("/v1/t1/stacks", {"stack_name": "lost", "template": TEMPLATE,
                                        "environment": env})
    assert answer.status_code == 400, answer.get_data(as_text=True)
    text = answer.get_data(as_text=True)
    assert "event_sinks[1]" in text and ":3:" in text   # the sink's own line
    assert "my-queue" in text and "--zaqar-url" in text
    assert api.get("/v1/t1/stacks/lost").status_code == 404


class FakeSession:
    """A keystoneauth session's two calls the cloud path makes."""

    def __init__(self, endpoint):
        self.endpoint = endpoint

    def get_endpoint(self, service_type, interface):
        assert (service_type, interface) == ("messaging", "public")
        return self.endpoint

    def get_auth_headers(self):
        return {"X-Auth-Token": "cloud-token"}


ROW = {"tenant": "t9", "body": {"id": "e1", "event_time": "2026-01-02T03:04:05Z",
                                "resource_name": "r", "physical_resource_id": "p",
                                "stack_id": "s", "resource_action": "CREATE",
                                "resource_status": "CREATE_FAILED",
                                "resource_status_reason": "boom", "resource_type": "T"}}


def test_the_cloud_path_takes_zaqar_from_the_catalog_with_the_clouds_token():
    queues = ZaqarQueues(CLOUD, FakeSession("https://zaqar.example:8888/"))
    url, headers, body = queues.request({"target": "q-1", "ttl": 60}, ROW)
    assert url == "https://zaqar.example:8888/v2/queues/q-1/messages"
    assert headers["X-Auth-Token"] == "cloud-token" and headers["X-Project-Id"] == "t9"
    message = json.loads(body)["messages"][0]
    assert message["ttl"] == 60
    assert message["body"]["payload"]["resource_status"] == "FAILED"
    assert message["body"]["timestamp"] == "2026-01-02T03:04:05"
    with pytest.raises(LookupError, match="no messaging"):
        ZaqarQueues(CLOUD, FakeSession(None)).request({"target": "q"}, ROW)
    with pytest.raises(ValueError, match="cloud-driver openstack"):
        ZaqarQueues(CLOUD, None)


class _Counts:
    def __init__(self):
        self.counted: list[tuple[str, dict]] = []

    def inc(self, name, **labels):
        self.counted.append((name, labels))


def test_the_cloud_path_posts_with_a_real_keystone_session(store):
    """`--zaqar-url cloud`: the openstacksdk session of the driver's cloud (a loopback Keystone
    whose catalog names Zaqar) finds the endpoint and sends its token."""
    from metadata_server.service.event_sinks import DeliveryOptions, EventDelivery
    from tests.openstack_cloud import Replay

    cloud = Replay([{"method": "POST", "path": "/messaging/v2/queues/q-1/messages",
                     "status": 201, "response": {"resources": ["/v2/queues/q-1/messages/m1"]}}])
    counts = _Counts()
    try:
        queues = ZaqarQueues(CLOUD, cloud.connection().session)
        worker = EventDelivery(store.engine, counts, DeliveryOptions(zaqar=queues))
        worker.deliver({"seq": -1, "event_id": "e1", "stack_id": "s", "tenant": "t9",
                        "sink": {"type": "zaqar-queue", "target": "q-1", "ttl": 90},
                        "body": ROW["body"], "attempts": 0, "created_at": 0})
    finally:
        cloud.close()
    # the loopback answers only requests carrying the token its Keystone issued
    assert cloud.unused() == [] and cloud.unexpected == []
    [sent] = [r for r in cloud.requests if r["path"].startswith("/messaging")]
    assert sent["body"]["messages"][0]["ttl"] == 90
    assert sent["body"]["messages"][0]["body"]["id"] == "e1"
    assert counts.counted == [("stoker_event_sink_delivered_total", {"sink": "zaqar-queue"})]
