"""The openstack driver at the HTTP layer: real openstacksdk requests, authenticated against a
loopback Keystone, answered from recorded Nova, Neutron, Cinder and Glance exchanges (one
fixture file per case, tests/engine/fixtures/openstack/*.json; see tests/openstack_cloud.py).

A case gives the template, the exchanges, and what must come out: `outputs` (the stack's
outputs, "*" for any value), or `error` (a text the failed create's reason contains);
optionally `update` (a new `template` and its `outputs`, applied after the create), and
`user_data`: the text the server create sent once base64-decoded (`text`), or the MIME parts
it is made of (`parts`: [content type, filename], in order, none of them multipart).
"""
from __future__ import annotations

import base64
import email
import json
from pathlib import Path

import pytest

from engine_helpers import run
from metadata_server.engine.drivers.openstack import NOVA_USER_DATA_LIMIT
from metadata_server.engine.stack import Engine
from metadata_server.service.clock import system_clock
from tests.openstack_cloud import Replay

pytest.importorskip("openstack", reason="the `openstack` extra is not installed")
CASES = sorted((Path(__file__).parent / "fixtures" / "openstack").glob("*.json"))
pytestmark = pytest.mark.timeout(60)


def same(expected, actual) -> bool:
    """Equal, except that "*" stands for any value."""
    if expected == "*":
        return True
    if isinstance(expected, dict):
        return (isinstance(actual, dict) and expected.keys() == actual.keys()
                and all(same(v, actual[k]) for k, v in expected.items()))
    if isinstance(expected, list):
        return (isinstance(actual, list) and len(expected) == len(actual)
                and all(same(e, a) for e, a in zip(expected, actual)))
    return expected == actual


def sent_user_data(replay: Replay) -> str | None:
    """What the server create sent as user_data, decoded (the guest sees this)."""
    creates = [r for r in replay.requests
               if r["method"] == "POST" and r["path"] == "/compute/v2.1/servers"]
    assert len(creates) == 1, creates
    encoded = creates[0]["body"]["server"].get("user_data")
    return base64.b64decode(encoded, validate=True).decode("utf-8") if encoded else None


def mime_parts(text: str) -> list[list]:
    message = email.message_from_string(text)
    assert message.is_multipart(), text[:300]
    parts = [part for part in message.get_payload()]
    # one level: a part that is itself multipart is the double wrapping cloud-init rejects
    assert not any(part.is_multipart() for part in parts), [p.get_content_type() for p in parts]
    return [[part.get_content_type(), part.get_filename()] for part in parts]


def engine_on(store, replay: Replay) -> Engine:
    from metadata_server.engine.drivers import OpenStackDriver
    return Engine(store, system_clock, driver=OpenStackDriver(replay.connection(),
                                                              poll_interval=0))


def check(engine: Engine, replay: Replay, stack: dict, expect: dict) -> None:
    if "error" in expect:
        assert stack["status"] == "FAILED", stack
        assert expect["error"] in stack["status_reason"], stack["status_reason"]
        assert "Traceback" not in stack["status_reason"]
        return
    assert stack["status"] == "COMPLETE", (stack["status_reason"], replay.unexpected)
    outputs = {o["output_key"]: o["output_value"] for o in engine.outputs(stack)}
    assert same(expect["outputs"], outputs), json.dumps(outputs, indent=1)


@pytest.fixture(autouse=True)
def agent_from_find_links(monkeypatch):
    """SOFTWARE_CONFIG user_data needs an agent source; a named one keeps these cases offline
    (the server's own wheelhouse is the boot tests' part, tests/boot)."""
    monkeypatch.setenv("STOKER_AGENT_NO_INDEX", "1")
    monkeypatch.setenv("STOKER_AGENT_FIND_LINKS", "/wheels")


@pytest.mark.parametrize("case", CASES, ids=[c.stem for c in CASES])
def test_openstack_driver_case(case, store):
    data = json.loads(case.read_text())
    replay = Replay(data["exchanges"])
    engine = engine_on(store, replay)
    try:
        stack = engine.create_stack("t1", {"stack_name": case.stem, "template": data["template"]})
        check(engine, replay, run(engine, stack["id"]), data)
        if "user_data" in data:
            sent = sent_user_data(replay)
            expected = data["user_data"]
            if "text" in expected:
                assert sent == expected["text"]
            if "parts" in expected:
                assert mime_parts(sent) == expected["parts"]
        if "update" in data:
            engine.update_stack("t1", stack["id"], {"template": data["update"]["template"]})
            check(engine, replay, run(engine, stack["id"]), data["update"])
        engine.delete_stack("t1", stack["id"])
        stack = run(engine, stack["id"])
        assert stack["status"] == "COMPLETE", (stack["status_reason"], replay.unexpected)
        assert replay.unexpected == [] and replay.unused() == []
    finally:
        engine.close()
        replay.close()


def test_cloud_error_becomes_the_resource_reason(store):
    replay = Replay([{"method": "POST", "path": "/network/v2.0/networks", "status": 409,
                      "response": {"NeutronError": {"type": "OverQuota",
                                                    "message": "Quota exceeded for networks"}}}])
    engine = engine_on(store, replay)
    try:
        stack = engine.create_stack("t1", {"stack_name": "q", "template": {
            "heat_template_version": "2018-08-31",
            "resources": {"net": {"type": "OS::Neutron::Net", "properties": {}}}}})
        stack = run(engine, stack["id"])
        assert stack["status"] == "FAILED"
        assert "resources.net" in stack["status_reason"]
        assert "Quota exceeded for networks" in stack["status_reason"]
    finally:
        engine.close()
        replay.close()


# base64 makes 4 bytes of every 3: 49149 bytes encode to 65532, 49150 to 65536
@pytest.mark.parametrize("size,sent", [(49149, True), (49150, False)])
def test_user_data_size_is_nova_limit_after_encoding(store, size, sent):
    from metadata_server.engine.drivers.openstack import OpenStackDriver, encode_user_data
    from metadata_server.engine.drivers.base import CloudError
    text = "#!/bin/sh\n" + "#" * (size - 11) + "\n"
    assert len(text.encode()) == size
    if sent:
        encoded = encode_user_data("vm", text)
        assert len(encoded) <= NOVA_USER_DATA_LIMIT and base64.b64decode(encoded).decode() == text
        return
    with pytest.raises(CloudError) as raised:
        encode_user_data("vm", text)
    message = str(raised.value)
    assert "server vm" in message and "65536" in message and "65535" in message
    assert text[20:60] not in message   # the user_data itself is not echoed
    # through the driver, nothing reaches Nova
    replay = Replay([])
    try:
        with pytest.raises(CloudError, match="65535"):
            OpenStackDriver(replay.connection()).create(
                "server", "vm", {"flavor": "2", "user_data": text})
        assert replay.requests == []
    finally:
        replay.close()


def test_server_changes_nova_cannot_make_in_place_are_refused():
    from metadata_server.engine.drivers.base import CloudError
    from metadata_server.engine.drivers.openstack import OpenStackDriver
    replay = Replay([])
    try:
        with pytest.raises(CloudError, match="changing networks, security_groups in place is "
                                             "not supported"):
            OpenStackDriver(replay.connection()).update(
                "server", "c0ffee00-0000-4000-8000-000000000001",
                {"networks": [{"network": "private"}], "security_groups": ["web"]})
        assert replay.requests == []
    finally:
        replay.close()
