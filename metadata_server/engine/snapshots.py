"""Snapshots and restore (reference §11).

A snapshot is an operation on the stack (action SNAPSHOT): each created resource goes
SNAPSHOT_IN_PROGRESS -> SNAPSHOT_COMPLETE, then the stack's abandon body (stack_data.py: the
template, environment, files and every resource's data, a RandomString's value, a deployment's
outputs, a wait condition's signals) is kept in the snapshot's record, with the stack's stored
definition. A restore is Heat's: an update to the snapshot's definition with action RESTORE,
after which each resource still of its snapshotted type puts back what the snapshot kept of
it (Resource.handle_restore). Snapshots are limited per stack, and in size; they go with
their stack.
"""
from __future__ import annotations

import json
import logging
import uuid
from typing import TYPE_CHECKING

from metadata_server.engine import status as st
from metadata_server.engine.errors import ActionInProgress, RequestLimitExceeded
from metadata_server.engine.stack_data import stack_data
from metadata_server.engine.walker import CancelToken
from metadata_server.service.errors import InvalidInput, NotFound

if TYPE_CHECKING:  # pragma: no cover
    from metadata_server.engine.limits import Limits
    from metadata_server.engine.reads import StackReads
    from metadata_server.engine.runner import OperationRunner
    from metadata_server.engine.runtimes import RuntimeFactory
    from metadata_server.engine.state import StackRuntime
    from metadata_server.engine.steps import Steps
    from metadata_server.engine.store_seam import EngineStore
    from metadata_server.engine.tree_limits import TreeLimits
    from metadata_server.service.clock import Clock
    from metadata_server.service.endpoints import Endpoints

log = logging.getLogger("stoker.engine")
MAX_NAME = 255


class SnapshotNotFound(NotFound):
    def __init__(self, snapshot_id: str, stack_name: str):
        super().__init__(f"The Snapshot ({snapshot_id}) for Stack ({stack_name}) could not be "
                         "found.", "NotFound")


class Snapshots:
    def __init__(self, stacks: EngineStore, clock: Clock, engine_id: str, *,
                 runner: OperationRunner, runtimes: RuntimeFactory, steps: Steps,
                 tree: TreeLimits, reads: StackReads, limits: Limits):
        self.stacks, self.clock, self.engine_id = stacks, clock, engine_id
        self.runner, self.runtimes, self.steps = runner, runtimes, steps
        self.tree, self.reads, self.limits = tree, reads, limits

    # -- reads -------------------------------------------------------------------------------
    def list(self, stack: dict) -> list[dict]:
        return self.stacks.list_snapshots(stack["id"])

    def get(self, stack: dict, snapshot_id: str) -> dict:
        row = self.stacks.get_snapshot(stack["id"], snapshot_id)
        if row is None:
            raise SnapshotNotFound(snapshot_id, stack["name"])
        return row

    # -- take one ----------------------------------------------------------------------------
    def create(self, stack: dict, body: dict) -> dict:
        unknown = set(body) - {"name"}
        if unknown:
            raise InvalidInput(f"snapshot: unknown keys {sorted(unknown)}; only name is taken")
        name = body.get("name")
        if name is not None and (not isinstance(name, str) or len(name) > MAX_NAME):
            raise InvalidInput(f"name: must be a string of at most {MAX_NAME} characters")
        self.runner.require_idle(stack)
        limit = self.limits.max_snapshots_per_stack
        if self.stacks.count_snapshots(stack["id"]) >= limit:
            raise RequestLimitExceeded(
                f"You have reached the maximum snapshots per stack, {limit}. Please delete "
                f"some snapshots (max_snapshots_per_stack, option --max-snapshots-per-stack).")
        rt = self.runtimes.load(stack)
        now = self.clock()
        row = {"id": str(uuid.uuid4()), "stack_id": stack["id"], "tenant": stack["tenant"],
               "name": name, "action": stack["action"], "status": st.IN_PROGRESS,
               "status_reason": None, "data": None, "definition": stack["definition"],
               "created_at": now}
        self.stacks.insert_snapshot(row)   # first: a claimed stack never lacks its record
        try:
            self._claim(stack, st.SNAPSHOT)
        except ActionInProgress:
            self.stacks.delete_snapshot(row["id"])
            raise
        rt.stack.update(self.stacks.get_stack(stack["id"]))
        rt.stack_event(st.SNAPSHOT, st.IN_PROGRESS, "Stack SNAPSHOT started")
        self.runner.start(rt, st.SNAPSHOT, lambda op: self._take(op.runtime, op.token, row))
        return row

    def _claim(self, stack: dict, action: str, **values) -> None:
        claimed = self.stacks.update_stack(stack["id"], {
            "action": action, "status": st.IN_PROGRESS,
            "status_reason": f"Stack {action} started", "updated_at": self.clock(),
            "engine_id": self.engine_id, "heartbeat_at": self.clock(), **values},
            unless_status=st.IN_PROGRESS)
        if not claimed:
            raise ActionInProgress(stack["name"], stack["action"])

    def _take(self, rt: StackRuntime, token: CancelToken, row: dict) -> None:
        with rt.lock:
            rows = [r for r in rt.current.values() if r["action"] != st.INIT]
        kept: dict[str, dict] = {}   # what resources keep in the snapshot only (backups)
        try:
            for resource in rows:
                rt.set_state(resource, st.SNAPSHOT, st.IN_PROGRESS)
                kept[resource["name"]] = (rt.plugin(resource).handle_snapshot(token), resource)
                rt.set_state(resource, st.SNAPSHOT, st.COMPLETE)
            with rt.lock:
                current = [dict(r) for r in rt.current.values()]
            data = dict(stack_data(dict(rt.stack, status=st.COMPLETE), current, rt))
            for name, (extra, _) in kept.items():
                if extra and name in data["resources"]:
                    entry = data["resources"][name]
                    entry["resource_data"] = {**entry["resource_data"], **extra}
            size = len(json.dumps(data, default=str))
            if size > self.limits.max_snapshot_size:
                raise RequestLimitExceeded(
                    f"the snapshot's data is {size} characters, over max_snapshot_size "
                    f"{self.limits.max_snapshot_size} (option --max-snapshot-size)")
        except Exception as exc:  # noqa: BLE001 - the snapshot and the stack say why
            reason = (exc.message if hasattr(exc, "message") else
                      f"{type(exc).__name__}: {exc}")
            log.warning("stack %s: snapshot %s failed: %s", rt.stack["id"], row["id"], reason)
            for resource in rows:
                if (resource["action"], resource["status"]) == (st.SNAPSHOT, st.IN_PROGRESS):
                    rt.set_state(resource, st.SNAPSHOT, st.FAILED, reason)
            for extra, resource in kept.values():
                let_go(rt, resource, extra)
            self.stacks.update_snapshot(row["id"], {"status": st.FAILED,
                                                    "status_reason": reason})
            self.runner.finish(rt, st.SNAPSHOT, st.FAILED, f"Stack SNAPSHOT failed: {reason}")
            return
        reason = "Stack SNAPSHOT completed successfully"
        self.stacks.update_snapshot(row["id"], {"status": st.COMPLETE, "status_reason": reason,
                                                "data": data})
        self.runner.finish(rt, st.SNAPSHOT, st.COMPLETE, reason)

    # -- delete and restore ------------------------------------------------------------------
    def delete(self, stack: dict, snapshot_id: str) -> None:
        snapshot = self.get(stack, snapshot_id)
        if any((entry or {}).get("resource_data") for entry in _kept(snapshot).values()):
            let_go_all(self.runtimes.load(stack), snapshot)
        self.stacks.delete_snapshot(snapshot_id)

    def restore(self, stack: dict, snapshot_id: str, endpoints: Endpoints | None = None) -> None:
        snapshot = self.get(stack, snapshot_id)
        self.runner.require_idle(stack)
        if snapshot["status"] != st.COMPLETE:
            raise InvalidInput(f"Snapshot {snapshot_id} is {snapshot['status']}: only a "
                               "COMPLETE snapshot can be restored", "NotSupported")
        definition = snapshot["definition"]
        rt = self.runtimes.prepare_update(stack, definition, endpoints)
        self.tree.check_tree(rt)
        self._claim(stack, st.RESTORE, previous_definition=stack["definition"],
                    definition=definition)
        rt.stack.update(self.stacks.get_stack(stack["id"]))
        rt.ctx.definition = definition
        rt.stack_event(st.RESTORE, st.IN_PROGRESS, "Stack RESTORE started")
        kept = (snapshot["data"] or {}).get("resources") or {}
        self.runner.start(rt, st.RESTORE, lambda op: self.steps.update(
            op.runtime, op.token, False, op, st.RESTORE,
            after=lambda name: put_back(op.runtime, name, kept.get(name))))


def _kept(snapshot: dict) -> dict:
    return (snapshot.get("data") or {}).get("resources") or {}


def let_go_all(rt: StackRuntime, snapshot: dict) -> None:
    """What a snapshot made in the cloud, deleted before its record is (a backup the cloud
    refuses to drop raises: the record stays, and says what it still holds)."""
    for name, entry in _kept(snapshot).items():
        let_go(rt, {"name": name, "type": entry.get("type"),
                    "physical_id": entry.get("resource_id")}, entry.get("resource_data") or {})


def let_go(rt: StackRuntime, row: dict, resource_data: dict) -> None:
    """What a snapshot made of a resource in the cloud (a volume's backup) is deleted."""
    if resource_data and row.get("type"):
        rt.plugin(row).handle_delete_snapshot(resource_data)


def put_back(rt: StackRuntime, name: str, entry: dict | None) -> None:
    """What the snapshot kept of a resource, into the resource a restore's update left."""
    with rt.lock:
        row = rt.current.get(name)
    if (entry is None or row is None or not row.get("physical_id")
            or row["type"] != entry.get("type") or row["status"] != st.COMPLETE):
        return
    plugin = rt.plugin(row)
    before = dict(plugin.data)
    plugin.handle_restore(entry.get("resource_data") or {})
    changed = {}
    if plugin.data != before:
        changed["data"] = plugin.data
    if plugin.physical_id != row["physical_id"]:   # a volume made anew from its backup
        changed["physical_id"] = plugin.physical_id
    if changed:
        with rt.lock:
            row.update(changed)
            rt.recorder.update(row["id"], changed)
