"""The AWS resource types on the openstack driver: real openstacksdk requests answered from
recorded exchanges, one fixture per case (tests/engine/fixtures/aws/openstack/*.json), in the
format and with the checks of test_engine_openstack_driver.py."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine_helpers import run
from test_engine_openstack_driver import check, engine_on, mime_parts, sent_user_data
from tests.openstack_cloud import Replay

pytest.importorskip("openstack", reason="the `openstack` extra is not installed")
CASES = sorted((Path(__file__).parent / "fixtures" / "aws" / "openstack").glob("*.json"))
pytestmark = pytest.mark.timeout(60)


@pytest.fixture(autouse=True)
def agent_from_find_links(monkeypatch):
    """An instance's user_data names where its agent comes from; a fixed source keeps it offline."""
    monkeypatch.setenv("STOKER_AGENT_NO_INDEX", "1")
    monkeypatch.setenv("STOKER_AGENT_FIND_LINKS", "/wheels")


@pytest.mark.parametrize("case", CASES, ids=[c.stem for c in CASES])
def test_aws_openstack_case(case, store):
    data = json.loads(case.read_text())
    replay = Replay(data["exchanges"])
    engine = engine_on(store, replay)
    try:
        stack = engine.create_stack("t1", {"stack_name": "ec2", "template": data["template"],
                                           "files": data.get("files") or {}})
        check(engine, replay, run(engine, stack["id"]), data)
        if "user_data" in data:
            assert mime_parts(sent_user_data(replay)) == data["user_data"]["parts"]
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
