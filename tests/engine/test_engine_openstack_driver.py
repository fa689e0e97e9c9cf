"""The openstack driver against recorded OpenStack API exchanges: one fixture file per case."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine_helpers import run
from metadata_server.engine.stack import Engine
from metadata_server.service.clock import system_clock
from tests.openstack_cloud import Replay

openstack = pytest.importorskip("openstack", reason="the `openstack` extra is not installed")
CASES = sorted((Path(__file__).parent / "fixtures" / "openstack").glob("*.json"))
pytestmark = pytest.mark.timeout(60)


@pytest.mark.parametrize("case", CASES, ids=[c.stem for c in CASES])
def test_openstack_driver_case(case, store):
    from metadata_server.engine.drivers import OpenStackDriver
    data = json.loads(case.read_text())
    replay = Replay(data["exchanges"])
    engine = Engine(store, system_clock, driver=OpenStackDriver(replay.connection(),
                                                                poll_interval=0))
    try:
        stack = engine.create_stack("t1", {"stack_name": case.stem, "template": data["template"]})
        stack = run(engine, stack["id"])
        assert stack["status"] == "COMPLETE", (stack["status_reason"], replay.unexpected)
        outputs = {o["output_key"]: o["output_value"] for o in engine.outputs(stack)}
        assert outputs == data["outputs"]
        engine.delete_stack("t1", stack["id"])
        stack = run(engine, stack["id"])
        assert stack["status"] == "COMPLETE", (stack["status_reason"], replay.unexpected)
        assert replay.unexpected == [] and replay.unused() == []
    finally:
        engine.close()
        replay.close()


def test_cloud_error_becomes_the_resource_reason(store):
    from metadata_server.engine.drivers import OpenStackDriver
    replay = Replay([{"method": "POST", "path": "/network/v2.0/networks", "status": 409,
                      "response": {"NeutronError": {"type": "OverQuota",
                                                    "message": "Quota exceeded for networks"}}}])
    engine = Engine(store, system_clock, driver=OpenStackDriver(replay.connection()))
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
