"""A volume's contents in stack snapshots on the openstack driver, at the HTTP layer: the
snapshot's resource_data keeps the Cinder backup's id, a restore makes the volume anew from the
backup, deleting the snapshot deletes the backup (fixtures/openstack_snapshots/*.json)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine_helpers import run
from metadata_server.engine.stack import Engine
from metadata_server.service.clock import system_clock
from tests.openstack_cloud import Replay

pytest.importorskip("openstack", reason="the `openstack` extra is not installed")
pytestmark = pytest.mark.timeout(60)
FIXTURES = Path(__file__).parent / "fixtures" / "openstack_snapshots"


def _engine(store, replay: Replay) -> Engine:
    from metadata_server.engine.drivers import OpenStackDriver
    return Engine(store, system_clock, driver=OpenStackDriver(replay.connection(),
                                                              poll_interval=0))


def _volume_id(engine, stack) -> str:
    return {o["output_key"]: o["output_value"] for o in engine.outputs(stack)}["id"]


def test_snapshot_backs_up_restore_makes_the_volume_from_it_delete_drops_it(store):
    case = json.loads((FIXTURES / "volume_backup.json").read_text())
    replay = Replay(case["exchanges"])
    engine = _engine(store, replay)
    try:
        stack = run(engine, engine.create_stack("t1", {"stack_name": "vb",
                                                       "template": case["template"]})["id"])
        assert stack["status"] == "COMPLETE", (stack["status_reason"], replay.unexpected)
        snap = engine.snapshot_stack("t1", stack["id"], {"name": "s"})
        stack = run(engine, stack["id"])
        assert stack["status"] == "COMPLETE", (stack["status_reason"], replay.unexpected)
        snap = engine.show_snapshot("t1", stack["id"], snap["id"])
        assert snap["status"] == "COMPLETE", snap["status_reason"]
        kept = snap["data"]["resources"]["vol"]["resource_data"]
        assert kept["backup_id"] == "bac0b000-0000-4000-8000-0000000000b1"
        # the resource's own data does not keep it: the next snapshot has its own backup
        assert "backup_id" not in engine.resources(stack)[0].get("data", {})

        engine.restore_snapshot("t1", stack["id"], snap["id"])
        stack = run(engine, stack["id"])
        assert (stack["action"], stack["status"]) == ("RESTORE", "COMPLETE"), (
            stack["status_reason"], replay.unexpected)
        assert _volume_id(engine, stack) == "d15c0000-0000-4000-8000-0000000000a2"

        engine.delete_snapshot("t1", stack["id"], snap["id"])
        assert engine.list_snapshots("t1", stack["id"]) == []
        engine.delete_stack("t1", stack["id"])
        stack = run(engine, stack["id"])
        assert stack["status"] == "COMPLETE", (stack["status_reason"], replay.unexpected)
        assert replay.unexpected == [] and replay.unused() == []
        backup = [r for r in replay.requests if r["path"].endswith("/backups")][0]
        assert backup["body"]["backup"]["force"] is True
    finally:
        engine.close()
        replay.close()


def test_a_backup_in_error_fails_the_snapshot_and_is_deleted(store):
    case = json.loads((FIXTURES / "volume_backup.json").read_text())
    create, available, backup, _, _ = case["exchanges"][:5]
    gone = dict(case["exchanges"][9])
    failed = {"method": "GET", "path": backup["path"] + "/bac0b000-0000-4000-8000-0000000000b1",
              "response": {"backup": {"id": "bac0b000-0000-4000-8000-0000000000b1",
                                      "status": "error", "fail_reason": "no backup service"}}}
    replay = Replay([create, available, backup, failed, gone, case["exchanges"][-1] | {
        "path": create["path"] + "/d15c0000-0000-4000-8000-0000000000a1"}])
    engine = _engine(store, replay)
    try:
        stack = run(engine, engine.create_stack("t1", {"stack_name": "vb",
                                                       "template": case["template"]})["id"])
        snap = engine.snapshot_stack("t1", stack["id"], {"name": "s"})
        stack = run(engine, stack["id"])
        assert (stack["action"], stack["status"]) == ("SNAPSHOT", "FAILED")
        assert "went to ERROR" in stack["status_reason"], stack["status_reason"]
        snap = engine.show_snapshot("t1", stack["id"], snap["id"])
        assert snap["status"] == "FAILED" and "backup" in snap["status_reason"]
        vol = engine.resources(stack)[0]
        assert (vol["action"], vol["status"]) == ("SNAPSHOT", "FAILED"), vol
        engine.delete_stack("t1", stack["id"])
        stack = run(engine, stack["id"])
        assert stack["status"] == "COMPLETE", (stack["status_reason"], replay.unexpected)
        assert replay.unexpected == [] and replay.unused() == []
    finally:
        engine.close()
        replay.close()


def _exchanges(case: dict, *picked: int) -> list[dict]:
    return [dict(case["exchanges"][i]) for i in picked]


def _delete_stack(engine, stack, replay) -> None:
    engine.delete_stack("t1", stack["id"])
    stack = run(engine, stack["id"])
    assert stack["status"] == "COMPLETE", (stack["status_reason"], replay.unexpected)
    assert replay.unexpected == [] and replay.unused() == []


def test_deleting_the_stack_deletes_its_snapshots_backups(store):
    case = json.loads((FIXTURES / "volume_backup.json").read_text())
    # create, available, backup, creating, available; the volume's delete, the backup's
    replay = Replay(_exchanges(case, 0, 1, 2, 3, 4, 8, 9))
    engine = _engine(store, replay)
    try:
        stack = run(engine, engine.create_stack("t1", {"stack_name": "vb",
                                                       "template": case["template"]})["id"])
        engine.snapshot_stack("t1", stack["id"], {"name": "s"})
        assert run(engine, stack["id"])["status"] == "COMPLETE"
        _delete_stack(engine, stack, replay)
        assert engine.stacks.list_snapshots(stack["id"]) == []
    finally:
        engine.close()
        replay.close()


def test_deletion_policy_snapshot_backs_the_volume_up_before_deleting_it(store):
    case = json.loads((FIXTURES / "volume_backup.json").read_text())
    template = json.loads(json.dumps(case["template"]))
    template["resources"]["vol"]["deletion_policy"] = "Snapshot"
    exchanges = _exchanges(case, 0, 1, 2, 3, 4, 8)
    exchanges[-1]["after"] = "GET " + exchanges[4]["path"]   # the backup is whole first
    replay = Replay(exchanges)
    engine = _engine(store, replay)
    try:
        stack = run(engine, engine.create_stack("t1", {"stack_name": "vb",
                                                       "template": template})["id"])
        assert stack["status"] == "COMPLETE", stack["status_reason"]
        _delete_stack(engine, stack, replay)
        assert [r["method"] for r in replay.requests if "/backups" in r["path"]] == [
            "POST", "GET", "GET"]   # kept: the backup outlives the stack, as Heat's does
    finally:
        engine.close()
        replay.close()


def test_restoring_an_attached_volume_fails_the_restore_saying_so(store):
    case = json.loads((FIXTURES / "volume_backup.json").read_text())
    exchanges = _exchanges(case, 0, 1, 2, 3, 4, 5, 8, 9)
    exchanges[5]["response"]["volume"]["attachments"] = [
        {"server_id": "c0ffee00-0000-4000-8000-000000000001", "device": "/dev/vdb"}]
    exchanges[5]["response"]["volume"]["status"] = "in-use"
    replay = Replay(exchanges)
    engine = _engine(store, replay)
    try:
        stack = run(engine, engine.create_stack("t1", {"stack_name": "vb",
                                                       "template": case["template"]})["id"])
        snap = engine.snapshot_stack("t1", stack["id"], {"name": "s"})
        assert run(engine, stack["id"])["status"] == "COMPLETE"
        engine.restore_snapshot("t1", stack["id"], snap["id"])
        stack = run(engine, stack["id"])
        assert (stack["action"], stack["status"]) == ("RESTORE", "FAILED")
        assert "is attached: detach it" in stack["status_reason"], stack["status_reason"]
        assert "Traceback" not in stack["status_reason"]
        assert _volume_id(engine, stack) == "d15c0000-0000-4000-8000-0000000000a1"
        _delete_stack(engine, stack, replay)
    finally:
        engine.close()
        replay.close()
