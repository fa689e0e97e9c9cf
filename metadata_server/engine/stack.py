"""The Engine: stack operations (create, update, delete, rollback, cancel) on a store and a clock.

Requests validate synchronously (bad input raises before anything is stored); the operation
itself is queued on the engine's budget of threads (budget.py), which also runs the resources of
its walk, and those of every nested stack, in parallel. Engine threads take their database
connections from a bounded pool of their own, the heartbeat from a reserved one, so engine work
never waits for, nor takes, the connections requests use. State goes to the
database as it changes, a heartbeat marks the operations this engine is running, and a sweep
marks FAILED, with a reason, any operation whose engine stopped: nothing stays IN_PROGRESS.
"""
from __future__ import annotations

import logging
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from metadata_server.engine import status as st
from metadata_server.engine.budget import Budget
from metadata_server.engine.context import PluginContext
from metadata_server.engine.definition import definition_from_body, stack_name, stack_options
from metadata_server.engine.drivers import CloudDriver, LocalDriver
from metadata_server.service.endpoints import LOCAL, Endpoints
from metadata_server.engine.errors import (ActionInProgress, ResourceFailure, StackExists,
                                           StackNotFound, StackValidationFailed)
from metadata_server.engine.graph import Graph
from metadata_server.engine.limits import DEFAULT, Limits
from metadata_server.engine.liveness import LockFileLiveness
from metadata_server.engine.nested_stacks import ChildStackFailed, NestedStacks
from metadata_server.engine.parse_cache import ParseCache
from metadata_server.engine.preview import Previews
from metadata_server.engine.recovery import LIVENESS_LANE, Recovery
from metadata_server.engine.validation import dependency_graph, validate
from metadata_server.engine.operations import (HOOKS, create_resource, delete_row,
                                               suspend_or_resume, update_resource)
from metadata_server.engine.state import Flusher, Recorder, Released, StackRuntime
from metadata_server.engine.template import StackIdentity
from metadata_server.engine.walker import CancelToken, WalkResult, walk
from metadata_server.service.clock import Clock, system_clock
from metadata_server.service.errors import InvalidInput
from metadata_server.store import Store
from metadata_server.store.lanes import add_lane, use_lane
from metadata_server.store.stacks import StackStore

log = logging.getLogger("stoker.engine")
# most engine work is waiting (for signals, for clouds): threads are cheap, but bounded
DEFAULT_THREADS = 256
DEFAULT_DB_CONNECTIONS = 8
ENGINE_LANE = "engine"
LIVENESS_CONNECTIONS = 2  # the heartbeat and its sweep: never queued behind engine work


@dataclass
class Operation:
    runtime: StackRuntime
    token: CancelToken
    action: str
    done: threading.Event = field(default_factory=threading.Event)
    rollback_requested: bool = False


class Engine(NestedStacks, Recovery, Previews):
    def __init__(self, store: Store, clock: Clock = system_clock, *,
                 driver: CloudDriver | None = None, endpoints: Endpoints = LOCAL,
                 threads: int = DEFAULT_THREADS, threads_per_tenant: int | None = None,
                 db_connections: int = DEFAULT_DB_CONNECTIONS, poll_interval: float = 0.2,
                 heartbeat_interval: float = 5.0, stale_after: float = 30.0,
                 recover: bool = True, resume: bool = True, minute: float = 60.0,
                 liveness: LockFileLiveness | None = None, limits: Limits = DEFAULT):
        self.store, self.clock = store, clock
        self.limits = limits
        self._counted: set[str] = set()   # top-level stacks whose whole tree was counted
        self.parse_cache = ParseCache.for_limits(limits)   # a text shared by stacks parsed once
        self.stacks = StackStore(store.engine)
        # engine threads: a bounded pool of connections each, apart from the requests' pool
        self.db_lane = add_lane(store.engine, ENGINE_LANE, db_connections)
        add_lane(store.engine, LIVENESS_LANE, LIVENESS_CONNECTIONS)
        self.budget = Budget(threads, threads_per_tenant, initializer=lambda: use_lane(ENGINE_LANE))
        self._flusher = Flusher(initializer=lambda: use_lane(ENGINE_LANE))
        self.driver = driver or LocalDriver()
        self.endpoints = endpoints
        self.poll_interval = poll_interval
        self.heartbeat_interval, self.stale_after = heartbeat_interval, stale_after
        self.engine_id = str(uuid.uuid4())
        self.minute = minute  # seconds in a timeout_mins minute; tests shorten it
        self.resume = resume  # take over orphaned operations (else only mark them FAILED)
        self._ops: dict[str, Operation] = {}
        self._runtimes: dict[str, StackRuntime] = {}
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._released = threading.Event()  # shared by every Recorder this engine makes
        self.liveness = liveness
        if liveness is not None:
            liveness.register(self.engine_id)
        if recover:
            self.recover()
        self._maintenance = threading.Thread(target=self._maintain, daemon=True,
                                             name="stoker-engine-heartbeat")
        self._maintenance.start()

    def gauges(self) -> dict[str, float]:
        """For /metrics: how much of the engine budget is in use."""
        workers, running, queued = self.budget.stats()
        gauges = {"stoker_engine_threads": workers, "stoker_engine_threads_busy": running,
                  "stoker_engine_tasks_queued": queued}
        if self.db_lane is not None:
            gauges["stoker_engine_db_connections_in_use"] = self.db_lane.pool.checkedout()
        return gauges

    def _recorder(self) -> Recorder:
        return Recorder(self.stacks, released=self._released, flusher=self._flusher)

    def release(self, timeout: float = 10.0) -> list[str]:
        """Stop without ending anything (a server shutting down): running operations stay
        IN_PROGRESS as stored, and their heartbeat is cleared so the next engine (a restarted
        server, another worker) takes them over at once instead of after `stale_after`.
        Returns the ids of the stacks handed on."""
        self._stop.set()
        self._released.set()  # from here no state change is recorded: walks unwind
        with self._lock:
            ops = list(self._ops.values())
            runtimes = list(self._runtimes.values())
        for rt in runtimes:
            try:
                rt.recorder.drain()
            except Exception:  # the database is away: the next engine finds the older state
                log.exception("stack %s: writing state before release failed", rt.stack["id"])
        for op in ops:
            op.token.hand_on()
        end = time.monotonic() + timeout
        for op in ops:
            op.done.wait(max(0.0, end - time.monotonic()))
        handed = [rt.stack["id"] for rt in runtimes]
        self.stacks.release(handed, self.engine_id)
        self._let_go()
        return handed

    def close(self) -> None:
        self._stop.set()
        for op in list(self._ops.values()):
            op.token.cancel("engine stopped")
            op.done.wait()
        self._let_go()

    def _let_go(self) -> None:
        """What this engine holds outside the database: threads, the driver's resources, its
        lock."""
        self.budget.close()
        self._flusher.close()
        close_driver = getattr(self.driver, "close", None)
        if close_driver is not None:
            close_driver()
        if self.liveness is not None:
            self.liveness.release()

    # -- lookups -----------------------------------------------------------------------------
    def get_stack(self, tenant: str, name_or_id: str) -> dict:
        row = self.stacks.find_stack(tenant, name_or_id)
        if row is None:
            raise StackNotFound(name_or_id)
        return row

    def list_stacks(self, tenant: str, **filters) -> list[dict]:
        return self.stacks.list_stacks(tenant, **filters)

    def resources(self, stack: dict) -> list[dict]:
        rt = self._runtimes.get(stack["id"])
        if rt is not None:
            with rt.lock:
                return [dict(r) for r in rt.current.values()]
        return [r for r in self.stacks.resources(stack["id"]) if not r.get("replaced_by")]

    def events(self, stack: dict, resource: str | None = None) -> list[dict]:
        rt = self._runtimes.get(stack["id"])
        if rt is not None:
            rt.recorder.flush()
        return self.stacks.events(stack["id"], resource)

    def find_resource(self, stack_id: str, name_or_physical: str) -> dict | None:
        rt = self._runtimes.get(stack_id)
        if rt is not None:
            return rt.find(name_or_physical)
        for row in self.stacks.resources(stack_id):
            if not row.get("replaced_by") and name_or_physical in (row["name"], row["physical_id"]):
                return row
        return None

    def outputs(self, stack: dict, key: str | None = None) -> list[dict]:
        if stack["action"] == st.DELETE and stack["status"] == st.COMPLETE:
            return []
        rt = self._runtimes.get(stack["id"]) or self._load(stack)
        if rt.bound is None:
            return []
        outputs = rt.bound.outputs(rt.resolver)
        if key is not None:
            outputs = [o for o in outputs if o["output_key"] == key]
        return rt.mask(outputs)

    def resource_attribute(self, stack: dict, name: str, attr: str) -> Any:
        rt = self._runtimes.get(stack["id"]) or self._load(stack)
        return rt.mask(rt.resolver.attribute(name, attr, ()))

    def resource_metadata(self, stack: dict, name: str) -> Any:
        rt = self._runtimes.get(stack["id"]) or self._load(stack)
        if rt.bound is None or name not in rt.definitions:
            return {}
        return rt.bound.resolve_metadata(name, rt.resolver) or {}

    def parameters(self, stack: dict) -> dict:
        rt = self._runtimes.get(stack["id"]) or self._load(stack)
        try:
            values = rt.bound.parameter_values() if rt.bound is not None else {}
        except NotImplementedError:
            values = {}
        return rt.mask({k: v if isinstance(v, str) else _text(v) for k, v in values.items()})

    # -- runtimes ----------------------------------------------------------------------------
    def identity(self, stack: dict) -> StackIdentity:
        """What a stored stack's template sees of it (OS::stack_name, OS::stack_id, ...)."""
        return StackIdentity(stack["name"], stack["id"], stack["tenant"])


    def _ctx(self, stack: dict, endpoints: Endpoints | None = None,
             parent_facade: Any = None) -> PluginContext:
        # the one place the engine's services are handed to resource plugins
        return PluginContext(self.store, self.clock, stack["tenant"], stack["id"], stack["name"],
                             endpoints or self.endpoints, self.driver, children=self, finder=self,
                             limits=self.limits, poll_interval=self.poll_interval,
                             definition=stack["definition"], parent_facade=parent_facade)

    def _load(self, stack: dict, definition: dict | None = None, endpoints=None,
              tolerate_errors: bool = True) -> StackRuntime:
        try:
            bound = self.bind(definition or stack["definition"], self.identity(stack),
                                    child_of=stack.get("parent_resource") if stack.get("parent_id") else None)
        except (StackValidationFailed, InvalidInput):
            if not tolerate_errors:
                raise
            bound = None
        return StackRuntime(stack, bound, self.stacks.resources(stack["id"]),
                            self._ctx(stack, endpoints), self._recorder(), self.clock)

    def _validate(self, bound) -> Graph:
        return validate(bound)

    def _graph(self, bound) -> Graph:
        return dependency_graph(bound)

    # -- create ------------------------------------------------------------------------------
    def create_stack(self, tenant: str, body: dict, endpoints: Endpoints | None = None) -> dict:
        name = stack_name(body)
        definition = definition_from_body(body)
        options = stack_options(body)
        if self.stacks.find_stack(tenant, name) is not None:
            raise StackExists(name)
        self.check_stack_quota(tenant)
        now = self.clock()
        stack = {"id": str(uuid.uuid4()), "tenant": tenant, "name": name, "parent_id": None,
                 "parent_resource": None, "definition": definition, "previous_definition": None,
                 "action": st.CREATE, "status": st.IN_PROGRESS,
                 "status_reason": "Stack CREATE started", "created_at": now, "updated_at": None,
                 "deleted_at": None, "engine_id": self.engine_id, "heartbeat_at": now, **options}
        rt = self._prepare_create(stack, endpoints)
        self.check_tree(rt)
        self.stacks.insert_stack(stack)
        self._start(rt, st.CREATE, lambda op: self._create(op.runtime, op.token,
                                                           not stack["disable_rollback"]))
        return stack

    def _prepare_create(self, stack: dict, endpoints, parent_facade=None) -> StackRuntime:
        if endpoints is not None:
            self.endpoints = endpoints
        bound = self.bind(stack["definition"], self.identity(stack),
                                child_of=stack.get("parent_resource") if stack.get("parent_id") else None)
        graph = self._validate(bound)
        rt = StackRuntime(stack, bound, [], self._ctx(stack, endpoints, parent_facade),
                          self._recorder(), self.clock)
        rt.graph = graph
        for defn in bound.resource_definitions():
            rt.current[defn.name] = rt.new_row(defn.name, defn.type)
        return rt

    def _create(self, rt: StackRuntime, token: CancelToken, rollback: bool) -> None:
        rt.stack_event(st.CREATE, st.IN_PROGRESS, "Stack CREATE started")
        result = self._walk(rt, rt.graph, lambda name, t: create_resource(rt, name, t), token,
                            st.CREATE)
        if result.ok:
            self._finish(rt, st.CREATE, st.COMPLETE, "Stack CREATE completed successfully")
            return
        reason = self._failure_reason(rt, st.CREATE, result, token)
        self._finish(rt, st.CREATE, st.FAILED, reason)
        if rollback and token.reason != "cancelled without rollback":
            self._begin(rt, st.ROLLBACK)
            ok, why = self._delete_all(rt, CancelToken(), st.ROLLBACK)
            self._finish(rt, st.ROLLBACK, st.COMPLETE if ok else st.FAILED,
                         "Stack ROLLBACK completed successfully" if ok else why)
        if rt.stack.get("parent_id"):
            raise ChildStackFailed(reason)

    # -- update ------------------------------------------------------------------------------
    def update_stack(self, tenant: str, name_or_id: str, body: dict, *, patch: bool = False,
                     endpoints: Endpoints | None = None) -> dict:
        stack = self.get_stack(tenant, name_or_id)
        self._require_idle(stack)
        definition = definition_from_body(body, stack["definition"], patch)
        options = stack_options(body, stack if patch else {"disable_rollback":
                                                           stack["disable_rollback"]})
        if body.get("rollback") is not None:
            options["disable_rollback"] = not body["rollback"]
        rt = self._prepare_update(stack, definition, endpoints)
        self.check_tree(rt)
        claimed = self.stacks.update_stack(stack["id"], {
            "action": st.UPDATE, "status": st.IN_PROGRESS, "status_reason": "Stack UPDATE started",
            "previous_definition": stack["definition"], "definition": definition,
            "updated_at": self.clock(), "engine_id": self.engine_id,
            "heartbeat_at": self.clock(), **options}, unless_status=st.IN_PROGRESS)
        if not claimed:
            raise ActionInProgress(stack["name"], stack["action"])
        rt.stack.update(self.stacks.get_stack(stack["id"]))
        rt.ctx.definition = definition
        rt.stack_event(st.UPDATE, st.IN_PROGRESS, "Stack UPDATE started")
        self._start(rt, st.UPDATE, lambda op: self._update(op.runtime, op.token,
                                                           not rt.stack["disable_rollback"], op))
        return rt.stack

    def _prepare_update(self, stack: dict, definition: dict, endpoints) -> StackRuntime:
        if endpoints is not None:
            self.endpoints = endpoints
        identity = self.identity(stack)
        child_of = stack.get("parent_resource") if stack.get("parent_id") else None
        bound = self.bind(definition, identity, child_of=child_of)
        try:
            previous = self.bind(stack["definition"], identity, child_of=child_of)
            bound.check_update(previous)
        except (StackValidationFailed, InvalidInput, NotImplementedError):
            previous = None
        graph = self._validate(bound)
        rt = StackRuntime(dict(stack, definition=definition), bound,
                          self.stacks.resources(stack["id"]), self._ctx(stack, endpoints),
                          self._recorder(), self.clock)
        rt.ctx.definition = definition
        rt.graph, rt.previous_bound = graph, previous
        return rt

    def _update(self, rt: StackRuntime, token: CancelToken, rollback: bool,
                op: Operation | None = None, action: str = st.UPDATE) -> None:
        replaced: set[str] = set()
        result = self._walk(rt, rt.graph,
                            lambda name, t: update_resource(rt, name, t, action, replaced),
                            token, action)
        if result.ok:
            ok, why = self._cleanup(rt, CancelToken(token.remaining()), action)
            if ok:
                self._finish(rt, action, st.COMPLETE, f"Stack {action} completed successfully")
                return
            reason = why
        else:
            reason = self._failure_reason(rt, action, result, token)
        self._finish(rt, action, st.FAILED, reason)
        cancelled = (token.reason or "").startswith("cancelled")
        wants_rollback = (op is not None and op.rollback_requested) if cancelled else rollback
        if action == st.UPDATE and wants_rollback and rt.stack.get("previous_definition"):
            self._rollback_update(rt)
        elif rt.stack.get("parent_id"):
            raise ChildStackFailed(reason)

    def _rollback_update(self, rt: StackRuntime) -> None:
        stack = dict(rt.stack)
        previous = stack["previous_definition"]
        self.stacks.update_stack(stack["id"], {"definition": previous})
        back = self._prepare_update(dict(stack, definition=stack["definition"]), previous, None)
        back.stack.update(stack, definition=previous)
        with self._lock:
            self._runtimes[stack["id"]] = back
        self._begin(back, st.ROLLBACK)
        back.recorder.start()
        try:
            self._update(back, CancelToken(), False, None, st.ROLLBACK)
        finally:
            back.recorder.stop()
            with self._lock:
                self._runtimes[stack["id"]] = rt

    def _cleanup(self, rt: StackRuntime, token: CancelToken, action: str) -> tuple[bool, str]:
        """Delete removed resources and replaced ones, dependants first (old graph reversed)."""
        with rt.lock:
            removed = {name: row for name, row in rt.current.items()
                       if name not in rt.definitions}
            doomed = dict(removed)
            for index, row in enumerate(rt.backups):
                doomed[f"{row['name']}#{index}"] = row
        if not doomed:
            return True, ""
        old_deps: dict[str, set[str]] = {}
        previous = getattr(rt, "previous_bound", None)
        if previous is not None:
            names = {d.name for d in previous.resource_definitions()}
            old_deps = {n: previous.dependencies(n) & names for n in names}
        by_name: dict[str, list[str]] = {}
        for key, row in doomed.items():
            by_name.setdefault(row["name"], []).append(key)
        requires = {key: set() for key in doomed}
        for key, row in doomed.items():
            # a doomed resource that the old template made depend on another doomed one
            # goes first: the reverse of the old graph
            for dep in old_deps.get(row["name"], ()):
                for dep_key in by_name.get(dep, ()):
                    requires[dep_key].add(key)

        def work(key, t):
            delete_row(rt, doomed[key], t, st.DELETE)
            with rt.lock:
                row = doomed[key]
                if row in rt.backups:
                    rt.backups.remove(row)
                if rt.current.get(row["name"]) is row:
                    del rt.current[row["name"]]
                rt.recorder.delete(row["id"])

        result = walk(Graph(requires), work, token=token, budget=self.budget,
                      tenant=rt.stack["tenant"])
        if result.ok:
            return True, ""
        return False, self._failure_reason(rt, action, result, token)

    # -- delete ------------------------------------------------------------------------------
    def delete_stack(self, tenant: str, name_or_id: str,
                     endpoints: Endpoints | None = None) -> None:
        stack = self.get_stack(tenant, name_or_id)
        if stack["action"] == st.DELETE and stack["status"] == st.COMPLETE:
            raise StackNotFound(name_or_id)
        running = self._ops.get(stack["id"])
        if running is not None:
            # Heat stops the running operation, then deletes
            running.token.cancel("Stack DELETE started")
            running.done.wait()
            stack = self.stacks.get_stack(stack["id"])
        elif stack["status"] == st.IN_PROGRESS and stack["action"] != st.DELETE:
            raise ActionInProgress(stack["name"], stack["action"])
        rt = self._load(stack, endpoints=endpoints)
        self._begin(rt, st.DELETE)
        self._start(rt, st.DELETE, lambda op: self._delete(op.runtime, op.token), begun=True)

    def _delete(self, rt: StackRuntime, token: CancelToken) -> None:
        ok, reason = self._delete_all(rt, token, st.DELETE)
        if ok:
            self._finish(rt, st.DELETE, st.COMPLETE, "Stack DELETE completed successfully",
                         deleted_at=self.clock())
        else:
            self._finish(rt, st.DELETE, st.FAILED, reason)
            if rt.stack.get("parent_id"):
                raise ChildStackFailed(reason)

    def _delete_all(self, rt: StackRuntime, token: CancelToken, action: str) -> tuple[bool, str]:
        with rt.lock:
            rows = {name: row for name, row in rt.current.items()}
            for index, row in enumerate(rt.backups):
                rows[f"{row['name']}#{index}"] = row
        deps: dict[str, set[str]] = {key: set() for key in rows}
        if rt.bound is not None:
            names = {d.name for d in rt.bound.resource_definitions()}
            for name in names & set(rows):
                deps[name] = rt.bound.dependencies(name) & set(rows)
        graph = Graph(deps).reversed()
        result = walk(graph, lambda key, t: delete_row(rt, rows[key], t, action), token=token,
                      budget=self.budget, tenant=rt.stack["tenant"])
        if result.ok:
            return True, ""
        return False, self._failure_reason(rt, action, result, token)

    # -- cancel, signals ---------------------------------------------------------------------
    # -- check and export --------------------------------------------------------------------
    def check_stack(self, tenant: str, name_or_id: str) -> None:
        """Heat's check: each resource's handle_check; a type without one is CHECK_COMPLETE
        "CHECK not supported for <type>" (none of stoker's types has one yet)."""
        stack = self.get_stack(tenant, name_or_id)
        self._require_idle(stack)
        rt = self._load(stack)
        self._begin(rt, st.CHECK)
        self._start(rt, st.CHECK, lambda op: self._check(rt), begun=True)

    def _check(self, rt: StackRuntime) -> None:
        for row in list(rt.current.values()):
            rt.set_state(row, st.CHECK, st.COMPLETE, f"CHECK not supported for {row['type']}")
        self._finish(rt, st.CHECK, st.COMPLETE, "Stack CHECK completed successfully")

    def export_stack(self, tenant: str, name_or_id: str) -> dict:
        """Heat's export (abandon data without deleting anything)."""
        stack = self.get_stack(tenant, name_or_id)
        definition = stack["definition"]
        rt = self._runtimes.get(stack["id"]) or self._load(stack)
        return rt.mask({
            "name": stack["name"], "id": stack["id"], "action": stack["action"],
            "status": stack["status"], "template": definition.get("template"),
            "environment": definition.get("environment") or {},
            "files": definition.get("files") or {}, "project_id": stack["tenant"],
            "stack_user_project_id": stack["tenant"], "tags": stack.get("tags"),
            "resources": {r["name"]: {"name": r["name"], "resource_id": r["physical_id"],
                                      "type": r["type"], "action": r["action"],
                                      "status": r["status"], "metadata": {},
                                      "resource_data": {}}
                          for r in self.resources(stack)}})

    # -- mark unhealthy ----------------------------------------------------------------------
    def mark_unhealthy(self, tenant: str, name_or_id: str, resource: str, body: dict) -> None:
        """Heat's rules: CHECK_FAILED (the next update replaces it), or back to CHECK_COMPLETE."""
        stack = self.get_stack(tenant, name_or_id)
        unknown = set(body) - {"mark_unhealthy", "resource_status_reason"}
        if unknown or not isinstance(body.get("mark_unhealthy"), bool):
            raise InvalidInput("body must be {\"mark_unhealthy\": true|false"
                               "[, \"resource_status_reason\": \"...\"]}"
                               + (f"; unknown keys {sorted(unknown)}" if unknown else ""))
        self._require_idle(stack)
        rt = self._load(stack)
        row = rt.find(resource)
        if row is None:
            raise StackNotFound(f"{stack['name']}/{resource}")
        reason = str(body.get("resource_status_reason") or "")
        if body["mark_unhealthy"] and row["action"] != st.DELETE:
            rt.set_state(row, st.CHECK, st.FAILED, reason or "state changed")
        elif not body["mark_unhealthy"] and (row["action"], row["status"]) == (st.CHECK, st.FAILED):
            rt.set_state(row, st.CHECK, st.COMPLETE, reason or "state changed")
        rt.recorder.flush()
        self.stacks.purge_events(stack["id"], self.limits.max_events_per_stack)

    # -- suspend and resume ------------------------------------------------------------------
    def suspend_stack(self, tenant: str, name_or_id: str) -> None:
        self._suspend_or_resume(tenant, name_or_id, st.SUSPEND)

    def resume_stack(self, tenant: str, name_or_id: str) -> None:
        self._suspend_or_resume(tenant, name_or_id, st.RESUME)

    def _suspend_or_resume(self, tenant: str, name_or_id: str, action: str) -> None:
        """Heat's rules: suspend a COMPLETE stack in reverse order; resume a suspended one
        forward. Each resource runs its handle_suspend / handle_resume."""
        stack = self.get_stack(tenant, name_or_id)
        self._require_idle(stack)
        if action == st.RESUME and stack["action"] not in (st.SUSPEND, st.RESUME):
            raise InvalidInput(f"Stack {stack['name']} is {stack['action']}_{stack['status']}: "
                               "only a suspended stack can be resumed", "NotSupported")
        if action == st.SUSPEND and stack["status"] != st.COMPLETE:
            raise InvalidInput(f"Stack {stack['name']} is {stack['action']}_{stack['status']}: "
                               "only a COMPLETE stack can be suspended", "NotSupported")
        rt = self._load(stack)
        if rt.bound is None:
            raise InvalidInput(f"Stack {stack['name']}'s stored template no longer binds")
        graph = self._graph(rt.bound)
        self._begin(rt, action)
        self._start(rt, action, lambda op: self._run_suspend_or_resume(
            op.runtime, op.token, action, graph.reversed() if action == st.SUSPEND else graph),
            begun=True)

    def _run_suspend_or_resume(self, rt: StackRuntime, token: CancelToken, action: str,
                               graph: Graph) -> None:
        result = self._walk(rt, graph, lambda name, t: suspend_or_resume(rt, name, t, action),
                            token, action)
        if result.ok:
            self._finish(rt, action, st.COMPLETE, f"Stack {action} completed successfully")
        else:
            self._finish(rt, action, st.FAILED, self._failure_reason(rt, action, result, token))

    def cancel(self, tenant: str, name_or_id: str, rollback: bool = True) -> None:
        stack = self.get_stack(tenant, name_or_id)
        op = self._ops.get(stack["id"])
        allowed = (st.UPDATE,) if rollback else (st.UPDATE, st.CREATE)
        if op is None or stack["status"] != st.IN_PROGRESS or stack["action"] not in allowed:
            raise InvalidInput(f"Cancelling update when stack is "
                               f"{stack['action']}_{stack['status']}", "NotSupported")
        op.rollback_requested = rollback
        op.token.cancel("cancelled" if rollback else "cancelled without rollback")

    def signal_resource(self, tenant: str, name_or_id: str, resource: str, body: Any) -> None:
        stack = self.get_stack(tenant, name_or_id)
        rt = self._runtimes.get(stack["id"])
        if rt is None:
            rt = self._load(stack)
        row = rt.find(resource)
        if row is None:
            raise StackNotFound(f"{stack['name']}/{resource}")
        with rt.lock:
            if isinstance(body, dict) and "unset_hook" in body:
                hook = body["unset_hook"]
                if hook not in HOOKS or not (row.get("data") or {}).get(hook):
                    raise InvalidInput(f"The \"{hook}\" hook is not defined on "
                                       f"{row['type']} \"{row['name']}\"",
                                       "InvalidBreakPointHook")
                data = {k: v for k, v in row["data"].items() if k != hook}
                row["data"] = data
                rt.recorder.update(row["id"], {"data": data})
                reason = f"Hook {hook} is cleared"
            else:
                plugin = rt.plugin(row)
                plugin.handle_signal(body)
                row["data"] = plugin.data
                rt.recorder.update(row["id"], {"data": plugin.data})
                reason = (f"status:{body.get('status', 'SUCCESS')} reason:{body.get('reason', '')}"
                          if isinstance(body, dict) else "Signal received")
            rt.recorder.event({"id": str(uuid.uuid4()), "stack_id": stack["id"],
                               "resource_name": row["name"],
                               "physical_resource_id": row.get("physical_id") or "",
                               "resource_type": row["type"], "action": st.SIGNAL,
                               "status": st.COMPLETE, "status_reason": reason,
                               "created_at": self.clock()})
        rt.recorder.flush()
        # signals come without an operation to end: each one keeps the stack within its events
        self.stacks.purge_events(stack["id"], self.limits.max_events_per_stack)

    # -- running operations ------------------------------------------------------------------
    def _require_idle(self, stack: dict) -> None:
        if stack["id"] in self._ops or stack["status"] == st.IN_PROGRESS:
            raise ActionInProgress(stack["name"], stack["action"])
        if stack["action"] == st.DELETE and stack["status"] == st.COMPLETE:
            raise StackNotFound(stack["name"])

    def _begin(self, rt: StackRuntime, action: str) -> None:
        rt.recorder.ensure_recording()
        now = self.clock()
        values = {"action": action, "status": st.IN_PROGRESS,
                  "status_reason": f"Stack {action} started", "updated_at": now,
                  "engine_id": self.engine_id, "heartbeat_at": now}
        rt.stack.update(values)
        self.stacks.update_stack(rt.stack["id"], values)
        if action != st.CREATE:
            rt.stack_event(action, st.IN_PROGRESS, f"Stack {action} started")

    def _finish(self, rt: StackRuntime, action: str, status: str, reason: str, **extra) -> None:
        reason = rt.mask(reason)
        rt.recorder.ensure_recording()
        rt.recorder.flush()
        values = {"action": action, "status": status, "status_reason": reason,
                  "engine_id": None, **extra}
        rt.stack.update(values)
        self.stacks.update_stack(rt.stack["id"], values)
        rt.stack_event(action, status, reason)
        rt.recorder.flush()
        if status != st.IN_PROGRESS:
            self.stacks.purge_events(rt.stack["id"], self.limits.max_events_per_stack)

    def _walk(self, rt: StackRuntime, graph: Graph, work, token: CancelToken,
              action: str) -> WalkResult:
        def skipped(name: str, upstream: str) -> None:
            row = rt.current.get(name)
            if row is not None:
                rt.set_state(row, action, st.FAILED,
                             f"{action} aborted (upstream resource {upstream} failed)")

        result = walk(graph, work, token=token, on_skip=skipped, budget=self.budget,
                      tenant=rt.stack["tenant"])
        for name in result.not_started:
            row = rt.current.get(name)
            if rt.resuming and row is not None and (row["action"], row["status"]) == (
                    action, st.COMPLETE):
                continue  # done before the engine restart: it stays done
            if row is not None:
                rt.set_state(row, action, st.FAILED, f"{action} aborted ({token.reason})")
        return result

    def _failure_reason(self, rt: StackRuntime, action: str, result: WalkResult,
                        token: CancelToken) -> str:
        if token.reason == "Timed out":
            return f"{action.capitalize()} timed out" if action in (st.CREATE, st.DELETE) \
                else "Timed out"
        if token.reason and token.reason.startswith("cancelled"):
            return f"Stack {action} cancelled"
        for name, exc in result.failed.items():
            cause = exc.reason if isinstance(exc, ResourceFailure) else str(exc)
            return f"Resource {action} failed: {cause}"
        return f"Stack {action} aborted ({token.reason})"

    def _token_for(self, rt: StackRuntime) -> CancelToken:
        op = self._ops.get(rt.stack["id"])
        return op.token if op is not None else CancelToken()

    def _start(self, rt: StackRuntime, action: str, run, begun: bool = False,
               spent: float | None = 0.0) -> Operation:
        """Queue `run(op)` on the engine's budget; `spent`: seconds of the stack timeout already
        used (a resumed operation keeps the deadline of the one it continues); None: no
        deadline (a rollback has none)."""
        timeout = rt.stack.get("timeout_mins") if spent is not None else None
        token = CancelToken(max(0.0, timeout * self.minute - spent) if timeout else None)
        op = Operation(rt, token, action)
        with self._lock:
            if rt.stack["id"] in self._ops:
                raise ActionInProgress(rt.stack["name"], action)
            self._ops[rt.stack["id"]] = op
            self._runtimes[rt.stack["id"]] = rt
        rt.recorder.start()

        def body():
            try:
                run(op)
            except Released:  # the server is stopping: the next engine resumes it
                log.info("stack %s: %s handed on to the next engine", rt.stack["id"], action)
            except Exception:  # the stack's status already says what failed
                log.exception("stack %s: %s failed", rt.stack["id"], action)
                if rt.stack["status"] == st.IN_PROGRESS:
                    self._finish(rt, rt.stack["action"], st.FAILED,
                                 f"Stack {rt.stack['action']} failed: internal error")
            finally:
                token.close()
                try:
                    rt.recorder.stop()
                except Exception:  # the sweep fails the stack once its heartbeat stops
                    log.exception("stack %s: final state write failed", rt.stack["id"])
                with self._lock:
                    self._ops.pop(rt.stack["id"], None)
                    self._runtimes.pop(rt.stack["id"], None)
                op.done.set()

        self.budget.submit(rt.stack["tenant"], body)
        return op

    def wait(self, stack_id: str, timeout: float | None = None) -> dict:
        """Until the stack's running operation (if any) ends; the stack row then."""
        op = self._ops.get(stack_id)
        if op is not None and not op.done.wait(timeout):
            raise TimeoutError(f"stack {stack_id} still {op.action}_IN_PROGRESS")
        return self.stacks.get_stack(stack_id)

def _text(value: Any) -> str:
    import json
    if isinstance(value, bool):
        return str(value).lower()
    return json.dumps(value) if isinstance(value, (dict, list)) else str(value)
