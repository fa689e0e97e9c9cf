"""A webhook sink's secret is the tenant's signing key: every place that shows a stack's
environment shows it masked as Heat masks hidden values, while deliveries are still signed with
the real one."""
from __future__ import annotations

import json
import time

import pytest

from metadata_server.store.event_sinks_spec import SECRET_MASK, masked_environment, verify
from tests.server.conftest import Api, app  # noqa: F401  (the app fixture)
from tests.server.test_event_sinks import (TEMPLATE, _api_event_ids, _status,  # noqa: F401
                                           delivery, receivers)
from tests.waiting import until

pytestmark = pytest.mark.timeout(90)
SECRET = "tenants-own-signing-key-5f2c"


def _tenant(app) -> Api:  # noqa: F811
    admin = Api(app.test_client(), "admin-token-for-tests")
    token = admin.post("/v1/tokens", {"name": "owner", "tenant": "t1"}).json
    return admin.as_(token["secret"])


def _create(api: Api, name: str, target: str, as_file: bool) -> str:
    sinks = [{"type": "webhook", "target": target, "secret": SECRET}]
    body = {"stack_name": name, "template": TEMPLATE}
    if as_file:   # as the openstack client sends `-e env.yaml`
        body.update(files={"file:///env.yaml": json.dumps({"event_sinks": sinks})},
                    environment_files=["file:///env.yaml"])
    else:
        body["environment"] = {"event_sinks": sinks}
    answer = api.post("/v1/t1/stacks", body)
    assert answer.status_code == 201, answer.get_data(as_text=True)
    return f"/v1/t1/stacks/{name}/{answer.json['stack']['id']}"


@pytest.mark.parametrize("as_file", [False, True], ids=["inline", "environment-file"])
def test_the_tenant_sees_its_sink_secret_masked_and_deliveries_are_signed_with_it(
        app, receivers, delivery, as_file):  # noqa: F811
    api, receiver = _tenant(app), receivers()
    delivery()
    url = _create(api, f"masked-{int(as_file)}", receiver.url, as_file)
    until(lambda: _status(api, url) == "CREATE_COMPLETE", what="CREATE_COMPLETE")

    environment = api.get(url + "/environment")
    assert environment.status_code == 200
    assert environment.json["event_sinks"] == [
        {"type": "webhook", "target": receiver.url, "secret": SECRET_MASK}]
    snapshot = api.post(url + "/snapshots", {"name": "before"})
    assert snapshot.status_code == 200, snapshot.get_data(as_text=True)
    until(lambda: api.get(url).json["stack"]["stack_status"] == "SNAPSHOT_COMPLETE",
          what="SNAPSHOT_COMPLETE")
    for path in ("/environment", "/files", "/export", "", "/events", "/resources",
                 "/snapshots", f"/snapshots/{snapshot.json['id']}"):
        answer = api.get(url + path)
        assert answer.status_code == 200, path
        assert SECRET not in answer.get_data(as_text=True), path

    expected = _api_event_ids(api, url)
    until(lambda: receiver.event_ids() >= expected, what="every event at the receiver")
    for headers, body in receiver.received:
        assert verify(SECRET, headers, body, time.time())
        assert SECRET.encode() not in body


@pytest.mark.parametrize("environment, shown", [
    ({"event_sinks": [{"type": "webhook", "target": "http://h/", "secret": "s"}]},
     {"event_sinks": [{"type": "webhook", "target": "http://h/", "secret": SECRET_MASK}]}),
    ("event_sinks:\n- {type: webhook, target: 'http://h/', secret: s}\n",
     {"event_sinks": [{"type": "webhook", "target": "http://h/", "secret": SECRET_MASK}]}),
    ({"event_sinks": [{"type": "webhook", "target": "http://h/"}]},
     {"event_sinks": [{"type": "webhook", "target": "http://h/"}]}),
    ("parameters: {secret: 1}\n", "parameters: {secret: 1}\n"),
    ("event_sinks: [", "event_sinks: ["),
])
def test_an_environment_is_masked_whether_a_map_or_text(environment, shown):
    assert masked_environment(environment) == shown
