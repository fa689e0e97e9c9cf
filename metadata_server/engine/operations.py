"""What the walker runs for one resource: create, update (no-op / in place / replace), delete.

Each function records IN_PROGRESS, calls the plugin, and records COMPLETE or FAILED with Heat's
reason "<ErrorType>: resources.<name>: <message>"; a failure is re-raised as ResourceFailure so
the walker stops the resource's dependants.
"""
from __future__ import annotations

import logging
from typing import Any

from metadata_server.engine import status as st
from metadata_server.engine.errors import Cancelled, ResourceFailure, UpdateReplace
from metadata_server.engine.plan import (UNCHANGED, UPDATED, classify, needs_plugin,
                                         resource_snapshot)
from metadata_server.engine.recovery import interrupted_action
from metadata_server.engine.resources import Resource, resource_class
from metadata_server.engine.resources.nested import ChildStack
from metadata_server.engine.state import StackRuntime
from metadata_server.engine.walker import CancelToken

log = logging.getLogger("stoker.engine")


def _failure(rt: StackRuntime, row: dict, action: str, exc: BaseException, plugin=None) -> ResourceFailure:
    values: dict[str, Any] = {}
    if plugin is not None:
        values.update(physical_id=plugin.physical_id, data=plugin.data)
    if isinstance(exc, Cancelled):
        reason = f"{action} aborted ({exc.args[0] if exc.args else 'cancelled'})"
        failure = ResourceFailure(row["name"], exc, action)
        failure.reason = reason
    else:
        failure = exc if isinstance(exc, ResourceFailure) else ResourceFailure(row["name"], exc, action)
        reason = failure.reason
    rt.set_state(row, action, st.FAILED, reason, **values)
    return failure


HOOKS = ("pre-create", "pre-update", "pre-delete")


def pause_at_hook(rt: StackRuntime, row: dict, hook: str, action: str, token: CancelToken) -> None:
    """A breakpoint set in the environment: wait until a signal {"unset_hook": hook} clears it.
    Dependants wait too; unrelated branches go on; the stack timeout still applies."""
    defn = rt.definitions.get(row["name"])
    if defn is None or hook not in (getattr(defn, "hooks", ()) or ()):
        return
    with rt.lock:
        row["data"] = dict(row.get("data") or {}, **{hook: True})
        rt.recorder.update(row["id"], {"data": row["data"]})
    rt.set_state(row, row["action"], row["status"], f"{action} paused until Hook {hook} is cleared")
    while (row.get("data") or {}).get(hook):
        if token.wait(rt.ctx.poll_interval):
            raise Cancelled(token.reason)


def _checkpoints(rt: StackRuntime, row: dict, plugin) -> None:
    def checkpoint() -> None:
        values = {"physical_id": plugin.physical_id, "data": plugin.data}
        with rt.lock:
            row.update(values)
            rt.recorder.update(row["id"], values)
        # written now, not with the next batch: a restart in between would leave the new
        # physical resource unknown to the stack (a deployment run twice, a stack orphaned)
        try:
            rt.recorder.flush()
        except Exception:  # a database hiccup: the recorder retries the batch, as for any
            log.exception("stack %s: checkpoint of %s not written yet; retrying",
                          rt.stack["id"], row["name"])
    plugin.checkpoint = checkpoint


def continue_interrupted(rt: StackRuntime, row: dict, step: str, token: CancelToken) -> bool:
    """Resuming after an engine restart: a resource whose `step` (the plugin call: CREATE,
    UPDATE, DELETE, SUSPEND, RESUME) the restart interrupted finishes it when its type can,
    e.g. a software deployment waits again for the signal its agent may already have sent,
    rather than being replaced, which would run it again. False: the type cannot (or the
    resource was not interrupted); the caller goes on as for any failed resource."""
    action = interrupted_action(row)
    if not rt.resuming or action is None or row.get("replaced_by"):
        return False
    name = row["name"]
    defn = rt.definitions.get(name) if step != st.DELETE else None
    try:
        if step == st.DELETE:
            cls = resource_class(row["type"], (row.get("definition") or {}).get("provider_template"))
            properties = row.get("properties") or {}
        else:
            if defn is None or defn.type != row["type"]:
                return False
            cls = resource_class(defn.type, defn.provider_template)
            if cls.can_continue is Resource.can_continue:
                return False  # most types: resolving properties would be wasted
            # what the interrupted step used: the walk starts a resource only once everything
            # it references is complete, and a resumed walk keeps complete resources
            properties = cls.validate_properties(name, rt.bound.resolve_properties(name,
                                                                                  rt.resolver))
        plugin = cls(name, rt.ctx, properties, row.get("physical_id"), row.get("data"), defn)
        if not plugin.can_continue(step):
            return False
    except Exception:  # the ordinary path meets the same problem and reports it
        return False
    rt.set_state(row, action, st.IN_PROGRESS, f"{action} continued after an engine restart")
    _checkpoints(rt, row, plugin)
    try:
        token.check()
        plugin.continue_interrupted(step, token)
    except Exception as exc:
        raise _failure(rt, row, action, exc, plugin) from exc
    values: dict[str, Any] = {"physical_id": plugin.physical_id, "data": plugin.data}
    if defn is not None:
        values.update(properties=properties, definition=_snapshot(rt, defn))
    rt.set_state(row, action, st.COMPLETE, **values)
    return True


def create_resource(rt: StackRuntime, name: str, token: CancelToken, action: str = st.CREATE,
                    row: dict | None = None) -> dict:
    defn = rt.definitions[name]
    row = row or rt.current[name]
    if rt.stack["action"] == st.CREATE and action == st.CREATE:
        pause_at_hook(rt, row, "pre-create", action, token)
    rt.set_state(row, action, st.IN_PROGRESS)
    plugin = None
    try:
        token.check()
        cls = resource_class(defn.type, defn.provider_template, f"resources.{name}.type")
        properties = cls.validate_properties(name, rt.bound.resolve_properties(name, rt.resolver))
        plugin = cls(name, rt.ctx, properties, row.get("physical_id"), row.get("data"), defn)
        _checkpoints(rt, row, plugin)
        plugin.handle_create(token)
    except Exception as exc:
        raise _failure(rt, row, action, exc, plugin) from exc
    rt.set_state(row, action, st.COMPLETE, physical_id=plugin.physical_id, data=plugin.data,
                 properties=properties, definition=_snapshot(rt, defn))
    return row


def _snapshot(rt: StackRuntime, defn) -> dict:
    return resource_snapshot(defn, (rt.ctx.definition or {}).get("files"))


def _restore_backup(rt: StackRuntime, name: str, new_snapshot: dict) -> None:
    """Rollback of a replacement: the old resource, still there, becomes current again."""
    with rt.lock:
        current = rt.current.get(name)
        for backup in rt.backups:
            if (backup["name"] == name and backup["status"] == st.COMPLETE
                    and backup.get("definition") == new_snapshot and current is not None
                    and backup["replaced_by"] == current["id"]):
                rt.backups.remove(backup)
                backup["replaced_by"] = None
                rt.recorder.update(backup["id"], {"replaced_by": None})
                current["replaced_by"] = backup["id"]
                rt.recorder.update(current["id"], {"replaced_by": backup["id"]})
                rt.backups.append(current)
                rt.current[name] = backup
                return


def update_resource(rt: StackRuntime, name: str, token: CancelToken, action: str = st.UPDATE,
                    replaced: set | None = None) -> None:
    """Bring one resource to its new definition; `replaced` collects names replaced so far."""
    defn = rt.definitions[name]
    new_snapshot = _snapshot(rt, defn)
    _restore_backup(rt, name, new_snapshot)
    with rt.lock:
        old = rt.current.get(name)
    if old is not None and rt.resuming:
        # an interrupted create (of a new or replacing resource), or this update's own step
        interrupted = interrupted_action(old)
        step = (st.CREATE if interrupted == st.CREATE
                else st.UPDATE if interrupted == action else None)
        if step and continue_interrupted(rt, old, step, token):
            return
    if old is not None and action == st.UPDATE:
        pause_at_hook(rt, old, "pre-update", action, token)
    if old is None:
        with rt.lock:
            rt.current[name] = rt.new_row(name, defn.type)
        create_resource(rt, name, token, st.CREATE)
        return
    cls = resource_class(defn.type, defn.provider_template, f"resources.{name}.type")
    if not old.get("physical_id") and old["action"] in (st.INIT, st.CREATE) and (
            old["status"] != st.IN_PROGRESS):
        # never created (or its create never got as far as a physical resource): create it
        old["type"] = defn.type
        rt.recorder.update(old["id"], {"type": defn.type})
        create_resource(rt, name, token, st.CREATE)
        return
    try:
        properties = cls.validate_properties(name, rt.bound.resolve_properties(name, rt.resolver))
    except Exception as exc:
        raise _failure(rt, old, action, exc) from exc
    # the plan's rule (plan.py), with real values where the plan had placeholders
    verdict, changed, _ = classify(old, new_snapshot, cls, old.get("properties"), properties)
    if verdict == UNCHANGED:
        if old.get("definition") != new_snapshot:  # e.g. a literal now given by a parameter
            old["definition"] = new_snapshot
            rt.recorder.update(old["id"], {"definition": new_snapshot})
        _refresh_facade(rt, old, cls)
        return
    if verdict == UPDATED:
        if not needs_plugin(old, new_snapshot, changed):
            # only metadata or policies changed: an update of the record, as Heat shows it
            rt.set_state(old, action, st.IN_PROGRESS)
            _refresh_facade(rt, old, cls)
            rt.set_state(old, action, st.COMPLETE, definition=new_snapshot)
            return
        rt.set_state(old, action, st.IN_PROGRESS)
        plugin = rt.plugin(old, dict(old.get("properties") or {}), defn)
        _checkpoints(rt, old, plugin)
        try:
            token.check()
            plugin.handle_update(properties, changed, token)
        except UpdateReplace:
            pass
        except Exception as exc:
            raise _failure(rt, old, action, exc, plugin) from exc
        else:
            rt.set_state(old, action, st.COMPLETE, physical_id=plugin.physical_id,
                         data=plugin.data, properties=properties, definition=new_snapshot)
            return
    _replace(rt, name, old, defn, token)
    if replaced is not None:
        replaced.add(name)


def _refresh_facade(rt: StackRuntime, row: dict, cls: type[Resource]) -> None:
    """A nested stack's resource_facade follows its parent resource's metadata (which may take
    a parameter) and policies even when the nested stack itself is not updated."""
    if issubclass(cls, ChildStack) and row.get("physical_id"):
        rt.ctx.children.refresh_facade(row["physical_id"])


def _replace(rt: StackRuntime, name: str, old: dict, defn, token: CancelToken) -> None:
    """Create before delete: the new row becomes current; the old one waits for cleanup."""
    new = rt.new_row(name, defn.type)
    with rt.lock:
        old["replaced_by"] = new["id"]
        rt.recorder.update(old["id"], {"replaced_by": new["id"]})
        rt.backups.append(old)
        rt.current[name] = new
    create_resource(rt, name, token, st.CREATE, new)


def delete_row(rt: StackRuntime, row: dict, token: CancelToken, action: str = st.DELETE) -> None:
    if row["action"] == st.INIT or (row["action"] == st.DELETE and row["status"] == st.COMPLETE):
        rt.set_state(row, action, st.COMPLETE)
        return
    if (rt.resuming and interrupted_action(row) == action
            and continue_interrupted(rt, row, st.DELETE, token)):
        return
    if action == st.DELETE and rt.stack["action"] == st.DELETE and not row.get("replaced_by"):
        pause_at_hook(rt, row, "pre-delete", action, token)
    rt.set_state(row, action, st.IN_PROGRESS)
    policy = ((row.get("definition") or {}).get("deletion_policy") or "Delete").capitalize()
    plugin = None
    try:
        if policy != "Retain":
            cls = resource_class(row["type"], _provider_template(rt, row))
            plugin = cls(row["name"], rt.ctx, row.get("properties") or {}, row.get("physical_id"),
                         row.get("data"), None)
            if policy == "Snapshot":
                plugin.handle_snapshot_delete(token)
            else:
                plugin.handle_delete(token)
    except Exception as exc:
        raise _failure(rt, row, action, exc, plugin) from exc
    rt.set_state(row, action, st.COMPLETE)


def _provider_template(rt: StackRuntime, row: dict) -> str | None:
    """The row's own stored definition's (the template may no longer have this resource); a
    resource whose create never completed stored none: the stack's template has it."""
    provider = (row.get("definition") or {}).get("provider_template")
    defn = rt.definitions.get(row["name"])
    if provider is None and defn is not None and defn.type == row["type"]:
        provider = defn.provider_template
    return provider


def suspend_or_resume(rt: StackRuntime, name: str, token: CancelToken, action: str) -> None:
    row = rt.current.get(name)
    if row is None or row["action"] == st.INIT or not row.get("physical_id"):
        return  # nothing was made, so nothing to suspend
    if rt.resuming and (row["action"], row["status"]) == (action, st.COMPLETE):
        return  # done before the engine restart
    if (rt.resuming and interrupted_action(row) == action
            and continue_interrupted(rt, row, action, token)):
        return
    rt.set_state(row, action, st.IN_PROGRESS)
    plugin = rt.plugin(row)
    _checkpoints(rt, row, plugin)
    try:
        token.check()
        (plugin.handle_suspend if action == st.SUSPEND else plugin.handle_resume)(token)
    except Exception as exc:
        raise _failure(rt, row, action, exc, plugin) from exc
    rt.set_state(row, action, st.COMPLETE, physical_id=plugin.physical_id, data=plugin.data)
