"""What each operation does to a stack's resources, once it runs: create, update (and the
rollback and clean-up that follow it), delete, check, suspend and resume.

Each step runs on the thread the runner gave it (or a parent resource's, for a nested stack)
and ends by writing the stack's final status; a nested stack's failure is raised as
ChildStackFailed so its parent resource fails in turn.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from metadata_server.engine import status as st
from metadata_server.engine.errors import ChildStackFailed
from metadata_server.engine.graph import Graph
from metadata_server.engine.operations import (create_resource, delete_row, suspend_or_resume,
                                               update_resource)
from metadata_server.engine.snapshots import let_go_all
from metadata_server.engine.state import StackRuntime
from metadata_server.engine.walker import CancelToken

if TYPE_CHECKING:  # pragma: no cover
    from metadata_server.engine.runner import Operation, OperationRunner
    from metadata_server.engine.runtimes import RuntimeFactory
    from metadata_server.engine.store_seam import EngineStore
    from metadata_server.service.clock import Clock


class Steps:
    def __init__(self, runner: OperationRunner, runtimes: RuntimeFactory, stacks: EngineStore,
                 clock: Clock):
        self.runner, self.runtimes = runner, runtimes
        self.stacks, self.clock = stacks, clock

    # -- create ------------------------------------------------------------------------------
    def create(self, rt: StackRuntime, token: CancelToken, rollback: bool) -> None:
        run = self.runner
        rt.stack_event(st.CREATE, st.IN_PROGRESS, "Stack CREATE started")
        result = run.walk(rt, rt.graph, lambda name, t: create_resource(rt, name, t), token,
                          st.CREATE)
        if result.ok:
            run.finish(rt, st.CREATE, st.COMPLETE, "Stack CREATE completed successfully")
            return
        reason = run.failure_reason(st.CREATE, result, token)
        run.finish(rt, st.CREATE, st.FAILED, reason)
        if rollback and token.reason != "cancelled without rollback":
            run.begin(rt, st.ROLLBACK)
            self.rollback_delete(rt, CancelToken())
        if rt.stack.get("parent_id"):
            raise ChildStackFailed(reason)

    def rollback_delete(self, rt: StackRuntime, token: CancelToken) -> None:
        """A failed create's rollback: delete what it made."""
        ok, why = self.delete_all(rt, token, st.ROLLBACK)
        self.runner.finish(rt, st.ROLLBACK, st.COMPLETE if ok else st.FAILED,
                           "Stack ROLLBACK completed successfully" if ok else why)

    # -- update ------------------------------------------------------------------------------
    def update(self, rt: StackRuntime, token: CancelToken, rollback: bool,
               op: Operation | None = None, action: str = st.UPDATE,
               after: Callable[[str], None] | None = None) -> None:
        """`after(name)`: run once each resource is updated, before its dependants start (a
        restore puts the snapshot's data back there)."""
        run = self.runner
        replaced: set[str] = set()

        def work(name: str, t: CancelToken) -> None:
            update_resource(rt, name, t, action, replaced)
            if after is not None:
                after(name)

        result = run.walk(rt, rt.graph, work, token, action)
        if result.ok:
            ok, why = self.cleanup(rt, CancelToken(token.remaining()), action)
            if ok:
                run.finish(rt, action, st.COMPLETE, f"Stack {action} completed successfully")
                return
            reason = why
        else:
            reason = run.failure_reason(action, result, token)
        cancelled = (token.reason or "").startswith("cancelled")
        wants_rollback = (op is not None and op.rollback_requested) if cancelled else rollback
        if action == st.UPDATE and wants_rollback and rt.stack.get("previous_definition"):
            # as Heat: an update rolled back records no UPDATE_FAILED of the stack, it goes on
            # to ROLLBACK (`openstack stack cancel --wait` stops at the first stack event that
            # completes or fails, and must see the rollback's)
            rt.recorder.flush()
            self.rollback_update(rt)
            return
        run.finish(rt, action, st.FAILED, reason)
        if rt.stack.get("parent_id"):
            raise ChildStackFailed(reason)

    def rollback_update(self, rt: StackRuntime) -> None:
        stack = dict(rt.stack)
        previous = stack["previous_definition"]
        self.stacks.update_stack(stack["id"], {"definition": previous})
        back = self.runtimes.prepare_update(dict(stack, definition=stack["definition"]),
                                            previous, None)
        back.stack.update(stack, definition=previous)
        with self.runner.standing_in(rt, back):
            self.runner.begin(back, st.ROLLBACK)
            self.update(back, CancelToken(), False, None, st.ROLLBACK)

    def cleanup(self, rt: StackRuntime, token: CancelToken, action: str) -> tuple[bool, str]:
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
        previous = rt.previous_bound
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

        result = self.runner.walk_rows(rt, Graph(requires), work, token)
        if result.ok:
            return True, ""
        return False, self.runner.failure_reason(action, result, token)

    # -- delete ------------------------------------------------------------------------------
    def delete(self, rt: StackRuntime, token: CancelToken) -> None:
        ok, reason = self.delete_all(rt, token, st.DELETE)
        if ok:
            try:
                for snapshot in self.stacks.list_snapshots(rt.stack["id"]):  # they go with it
                    let_go_all(rt, snapshot)   # and what they keep in the cloud (backups)
                    self.stacks.delete_snapshot(snapshot["id"])
            except Exception as exc:  # noqa: BLE001 - the stack says which backup stayed
                ok, reason = False, f"Stack DELETE failed: snapshot: {exc}"
        if ok:
            self.runner.finish(rt, st.DELETE, st.COMPLETE, "Stack DELETE completed successfully",
                               deleted_at=self.clock())
        else:
            self.runner.finish(rt, st.DELETE, st.FAILED, reason)
            if rt.stack.get("parent_id"):
                raise ChildStackFailed(reason)

    def delete_all(self, rt: StackRuntime, token: CancelToken, action: str) -> tuple[bool, str]:
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
        result = self.runner.walk_rows(rt, graph,
                                       lambda key, t: delete_row(rt, rows[key], t, action), token)
        if result.ok:
            return True, ""
        return False, self.runner.failure_reason(action, result, token)

    # -- check, suspend and resume -----------------------------------------------------------
    def check(self, rt: StackRuntime) -> None:
        for row in list(rt.current.values()):
            rt.set_state(row, st.CHECK, st.COMPLETE, f"CHECK not supported for {row['type']}")
        self.runner.finish(rt, st.CHECK, st.COMPLETE, "Stack CHECK completed successfully")

    def suspend_or_resume(self, rt: StackRuntime, token: CancelToken, action: str,
                          graph: Graph) -> None:
        """graph: the stack's, reversed for SUSPEND (validation.suspend_graph)."""
        result = self.runner.walk(rt, graph,
                                  lambda name, t: suspend_or_resume(rt, name, t, action),
                                  token, action)
        if result.ok:
            self.runner.finish(rt, action, st.COMPLETE, f"Stack {action} completed successfully")
        else:
            self.runner.finish(rt, action, st.FAILED,
                               self.runner.failure_reason(action, result, token))

