"""Abandon and adopt (reference §12).

Abandon hands the owner Heat's abandon body (stack_data.py) and removes the stack, its nested
stacks, events and snapshots from the database without touching a physical resource. Adopt
makes a stack from such a body: each resource takes over the physical resource and the data
of its entry (same physical id, same RandomString value, the deployment's record as it is)
instead of creating one, and the stack ends ADOPT_COMPLETE. A body stoker cannot honour is
refused (400) before anything is stored, naming what is at fault.
"""
from __future__ import annotations

import dataclasses
import json
import uuid
from typing import TYPE_CHECKING, Any

from metadata_server.engine import status as st
from metadata_server.engine.definition import definition_from_body, stack_name, stack_options
from metadata_server.engine.errors import ActionInProgress, StackExists
from metadata_server.engine.operations import _checkpoints, _failure, _snapshot
from metadata_server.engine.resources import resource_class
from metadata_server.engine.walker import CancelToken
from metadata_server.service.errors import InvalidInput
from metadata_server.store.stack_records import StackRecord

if TYPE_CHECKING:  # pragma: no cover
    from metadata_server.engine.reads import StackReads
    from metadata_server.engine.runner import OperationRunner
    from metadata_server.engine.runtimes import RuntimeFactory
    from metadata_server.engine.state import StackRuntime
    from metadata_server.engine.store_seam import EngineStore
    from metadata_server.engine.tree_limits import TreeLimits
    from metadata_server.service.clock import Clock
    from metadata_server.service.endpoints import Endpoints

FIELD = "adopt_stack_data"
ENTRY_KEYS = {"name", "resource_id", "type", "action", "status", "metadata", "resource_data"}


class Adoption:
    def __init__(self, stacks: EngineStore, clock: Clock, engine_id: str, *,
                 runner: OperationRunner, runtimes: RuntimeFactory, tree: TreeLimits,
                 reads: StackReads):
        self.stacks, self.clock, self.engine_id = stacks, clock, engine_id
        self.runner, self.runtimes, self.tree, self.reads = runner, runtimes, tree, reads

    # -- abandon -----------------------------------------------------------------------------
    def abandon(self, tenant: str, name_or_id: str) -> dict:
        stack = self.reads.get_stack(tenant, name_or_id)
        self.runner.require_idle(stack)
        if stack.get("parent_id"):
            raise InvalidInput(f"Stack {stack['name']} is nested in another stack: abandon "
                               "its top-level stack", "NotSupported")
        data = self.reads.stack_data(stack)
        # claimed, so no operation starts on it between the body and the removal
        if not self.stacks.update_stack(stack["id"], {
                "action": st.ABANDON, "status": st.IN_PROGRESS,
                "status_reason": "Stack abandon started", "engine_id": self.engine_id,
                "heartbeat_at": self.clock()}, unless_status=st.IN_PROGRESS):
            raise ActionInProgress(stack["name"], stack["action"])
        self._purge_tree(stack["id"])
        return data

    def _purge_tree(self, stack_id: str) -> None:
        for child in self.stacks.children(stack_id):
            self._purge_tree(child["id"])
        self.stacks.purge_stack(stack_id)

    # -- adopt -------------------------------------------------------------------------------
    def adopt(self, tenant: str, body: dict, endpoints: Endpoints | None = None) -> dict:
        data = parse_adopt_data(body.get(FIELD))
        name = stack_name(body)
        definition = definition_from_body(_create_body(body, data))
        options = stack_options(body)
        if self.stacks.find_stack(tenant, name) is not None:
            raise StackExists(name)
        self.tree.check_stack_quota(tenant)
        record = dataclasses.replace(
            StackRecord.creating(str(uuid.uuid4()), tenant, name, definition, self.clock(),
                                 self.engine_id, **options),
            action=st.ADOPT, status_reason="Stack ADOPT started")
        stack = record.as_row()
        rt = self.runtimes.prepare_create(stack, endpoints)
        self.tree.check_tree(rt)
        entries = match_entries(rt, data["resources"])
        self.stacks.insert_stack(record)
        self.runner.start(rt, st.ADOPT, lambda op: self._run(
            op.runtime, op.token, entries, not stack["disable_rollback"]))
        return stack

    def _run(self, rt: StackRuntime, token: CancelToken, entries: dict, rollback: bool) -> None:
        run = self.runner
        rt.stack_event(st.ADOPT, st.IN_PROGRESS, "Stack ADOPT started")
        result = run.walk(rt, rt.graph, lambda name, t: adopt_resource(rt, name, t,
                                                                       entries[name]),
                          token, st.ADOPT)
        if result.ok:
            run.finish(rt, st.ADOPT, st.COMPLETE, "Stack ADOPT completed successfully")
            return
        run.finish(rt, st.ADOPT, st.FAILED, run.failure_reason(st.ADOPT, result, token))
        if rollback:
            # as Heat: the failed adopt is undone in abandon mode, its resources left as found
            run.begin(rt, st.ROLLBACK)
            with rt.lock:
                rows = list(rt.current.values())
                rt.current.clear()
            for row in rows:
                rt.recorder.delete(row["id"])
            run.finish(rt, st.ROLLBACK, st.COMPLETE, "Stack ROLLBACK completed successfully")


def adopt_resource(rt: StackRuntime, name: str, token: CancelToken, entry: dict) -> None:
    defn = rt.definitions[name]
    row = rt.current[name]
    rt.set_state(row, st.ADOPT, st.IN_PROGRESS)
    plugin = None
    try:
        token.check()
        cls = resource_class(defn.type, defn.provider_template, f"resources.{name}.type")
        properties = cls.validate_properties(name, rt.bound.resolve_properties(name, rt.resolver))
        plugin = cls(name, rt.ctx, properties, entry["resource_id"],
                     entry.get("resource_data") or {}, defn)
        _checkpoints(rt, row, plugin)
        plugin.handle_adopt(token)
    except Exception as exc:
        raise _failure(rt, row, st.ADOPT, exc, plugin) from exc
    rt.set_state(row, st.ADOPT, st.COMPLETE, physical_id=plugin.physical_id, data=plugin.data,
                 properties=properties, definition=_snapshot(rt, defn))


# -- the body ----------------------------------------------------------------------------------
def parse_adopt_data(raw: Any) -> dict:
    """adopt_stack_data: Heat's abandon body, as JSON text (what heatclient sends) or an
    object; every fault named by its path."""
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError as exc:
            raise InvalidInput(f"{FIELD}: not valid JSON: {exc}") from None
    if not isinstance(raw, dict):
        raise InvalidInput(f"{FIELD}: must be a stack's abandon data (an object), got "
                           f"{type(raw).__name__}")
    resources = raw.get("resources")
    if not isinstance(resources, dict):
        raise InvalidInput(f"{FIELD}.resources: must be an object of resource name -> entry, "
                           f"got {type(resources).__name__}")
    for key, kind in (("template", (dict, str)), ("environment", dict), ("files", dict)):
        if raw.get(key) is not None and not isinstance(raw[key], kind):
            raise InvalidInput(f"{FIELD}.{key}: must be an object, got "
                               f"{type(raw[key]).__name__}")
    for name, entry in resources.items():
        path = f"{FIELD}.resources.{name}"
        if not isinstance(entry, dict):
            raise InvalidInput(f"{path}: must be an object, got {type(entry).__name__}")
        unknown = set(entry) - ENTRY_KEYS
        if unknown:
            raise InvalidInput(f"{path}: unknown keys {sorted(unknown)}")
        if not isinstance(entry.get("resource_id"), str) or not entry["resource_id"]:
            raise InvalidInput(f"{path}.resource_id: Resource ID was not provided.")
        for key in ("resource_data", "metadata"):
            if entry.get(key) is not None and not isinstance(entry[key], dict):
                raise InvalidInput(f"{path}.{key}: must be an object, got "
                                   f"{type(entry[key]).__name__}")
        if not isinstance(entry.get("type"), str):
            raise InvalidInput(f"{path}.type: the resource's type is required")
    return raw


def _create_body(body: dict, data: dict) -> dict:
    """Heat's rules: the body's template, else the abandoned one; the abandoned parameters
    under the body's; the abandoned files under the body's."""
    merged = dict(body)
    if merged.get("template") is None and merged.get("template_url") is None:
        if data.get("template") is None:
            raise InvalidInput(f"template: none given and {FIELD} has none")
        merged["template"] = data["template"]
    environment = data.get("environment") or {}
    merged["parameters"] = {**(environment.get("parameters") or {}),
                            **(body.get("parameters") or {})}
    if not merged.get("environment"):
        merged["environment"] = {k: v for k, v in environment.items() if k != "parameters"}
    merged["files"] = {**(data.get("files") or {}), **(body.get("files") or {})}
    return merged


def match_entries(rt: StackRuntime, resources: dict) -> dict:
    """Each resource of the template with its entry of the same name and type, of a type
    stoker can adopt; anything else is the body's fault, said before anything is stored."""
    names = {defn.name: defn for defn in rt.bound.resource_definitions()}
    extra = sorted(set(resources) - set(names))
    if extra:
        raise InvalidInput(f"{FIELD}.resources: {', '.join(extra)} not in the template "
                           f"(its resources: {', '.join(sorted(names)) or 'none'})")
    missing = sorted(set(names) - set(resources))
    if missing:
        raise InvalidInput(f"{FIELD}.resources: no entry for the template's "
                           f"{', '.join(missing)}: Resource ID was not provided.")
    for name, defn in names.items():
        entry, path = resources[name], f"{FIELD}.resources.{name}"
        if entry["type"] != defn.type:
            raise InvalidInput(f"{path}.type: {entry['type']} does not match the template's "
                               f"{defn.type}")
        cls = resource_class(defn.type, defn.provider_template, f"resources.{name}.type")
        if not cls.adoptable:
            raise InvalidInput(f"{path}: stoker cannot adopt a {defn.type} (a resource backed "
                               "by a nested stack)", "NotSupported")
        try:
            json.dumps(entry.get("resource_data") or {})
        except (TypeError, ValueError):
            raise InvalidInput(f"{path}.resource_data: not JSON data") from None
    return resources
