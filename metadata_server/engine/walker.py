"""A parallel walk of a dependency graph, with Terraform's failure semantics.

graphlib says which resources are ready; the engine's Budget (budget.py), shared by every walk of
the process, runs them, and the walk's own thread runs those no worker has taken yet while it
waits. Every resource starts as soon as everything it requires is done. When one fails, the
resources that depend on it (directly or not) are not started and are reported as skipped with the upstream failure named;
independent branches run on. A cancel (or the stack's deadline) stops new work from starting and
tells running work through the token, which every waiting resource checks.
"""
from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass, field
from graphlib import TopologicalSorter
from typing import Callable

from metadata_server.engine.budget import Budget, Task
from metadata_server.engine.errors import Cancelled
from metadata_server.engine.graph import Graph

DEFAULT_WORKERS = 128  # a walk of its own (no shared budget): its threads, its caller included


class CancelToken:
    """Shared by one operation's work items: cancelled by a caller or by the deadline."""

    def __init__(self, timeout: float | None = None, monotonic: Callable[[], float] = time.monotonic):
        self._event = threading.Event()
        self._monotonic = monotonic
        self._deadline = monotonic() + timeout if timeout is not None else None
        self.reason: str | None = None
        self.handed_on = False

    def close(self) -> None:
        """The operation is over (waiters cap each sleep at the deadline: no timer to stop)."""

    def cancel(self, reason: str = "cancelled") -> None:
        if self.reason is None:
            self.reason = reason
        self._event.set()

    def hand_on(self) -> None:
        """Stop the work without cancelling what it started: the engine is stopping and the
        next one continues (a deployment stays IN_PROGRESS for its agent)."""
        self.handed_on = True
        self.cancel("engine stopped")

    def remaining(self) -> float | None:
        return None if self._deadline is None else max(0.0, self._deadline - self._monotonic())

    @property
    def cancelled(self) -> bool:
        if not self._event.is_set() and self._deadline is not None and self.remaining() <= 0:
            self.cancel("Timed out")
        return self._event.is_set()

    def wait(self, seconds: float) -> bool:
        """Sleep up to `seconds`, waking early on cancel or deadline; True if cancelled."""
        remaining = self.remaining()
        if remaining is not None:
            seconds = min(seconds, remaining)
        self._event.wait(max(0.0, seconds))
        return self.cancelled

    def check(self) -> None:
        if self.cancelled:
            raise Cancelled(self.reason)


@dataclass
class WalkResult:
    completed: list[str] = field(default_factory=list)
    failed: dict[str, BaseException] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)  # resource -> the upstream that failed
    not_started: list[str] = field(default_factory=list)   # left out because of a cancel

    @property
    def ok(self) -> bool:
        return not (self.failed or self.skipped or self.not_started)


def walk(graph: Graph, work: Callable[[str, CancelToken], None], *,
         token: CancelToken | None = None, max_workers: int = DEFAULT_WORKERS,
         on_skip: Callable[[str, str], None] | None = None, budget: Budget | None = None,
         tenant: str = "") -> WalkResult:
    """Run `work(node, token)` for every node, each after the nodes it requires: on `budget`'s
    workers, queued as `tenant`'s, or else on a budget of `max_workers` threads of its own."""
    own = budget is None
    if own:  # the calling thread is one of the max_workers: it runs work too
        budget = Budget(max_workers - 1, per_tenant=max_workers, name="stoker-walk")
    try:
        return _Walk(graph, work, token or CancelToken(), on_skip, budget, tenant).run()
    finally:
        if own:
            budget.close()


class _Walk:
    """One walk's state. Whichever thread finishes a resource queues the resources it made
    ready, so a walk moves on while its own thread is busy running one of them."""

    def __init__(self, graph: Graph, work, token: CancelToken, on_skip, budget: Budget,
                 tenant: str):
        self.graph, self.work, self.token, self.on_skip = graph, work, token, on_skip
        self.budget, self.tenant = budget, tenant
        self.result = WalkResult()
        self.upstream_failure: dict[str, str] = {}  # node -> the failed node at its root
        self.sorter = TopologicalSorter(graph.as_mapping())
        self.sorter.prepare()
        self.nodes: dict[Task, str] = {}
        self.unclaimed: deque[Task] = deque()  # ours, perhaps still queued: ours to run too
        self.ready: deque[str] = deque()  # fetched from the sorter, not yet handled
        self.error: BaseException | None = None  # from on_skip (e.g. the engine released)
        self.changed = threading.Condition()

    def schedule(self) -> None:
        """Under `changed`: queue (or skip, or leave out) every node now ready."""
        ready = self.ready
        ready.extend(self.sorter.get_ready())
        while ready:
            node = ready.popleft()
            upstream = next((self.upstream_failure[d] for d in sorted(self.graph.requires(node))
                             if d in self.upstream_failure), None)
            if self.error is not None or self.token.cancelled:
                self.result.not_started.append(node)
                self.sorter.done(node)
                ready.extend(self.sorter.get_ready())
            elif upstream is not None:
                self.upstream_failure[node] = upstream
                self.result.skipped[node] = upstream
                self.sorter.done(node)
                ready.extend(self.sorter.get_ready())
                if self.on_skip:
                    self.on_skip(node, upstream)
            else:
                task = self.budget.submit(self.tenant, self.work, node, self.token,
                                          notify=self.finished)
                self.nodes[task] = node
                self.unclaimed.append(task)

    def finished(self, task: Task) -> None:
        """On the thread that ran `task`."""
        with self.changed:
            node = self.nodes.pop(task)
            if task.error is None:
                self.result.completed.append(node)
            else:
                self.result.failed[node] = task.error
                self.upstream_failure[node] = node
            self.sorter.done(node)
            self._schedule_safely()
            self.changed.notify_all()

    def _schedule_safely(self) -> None:
        try:
            self.schedule()
        except BaseException as exc:  # raised again on the walk's own thread
            self.error = self.error or exc
            self.schedule()  # what is ready is left out now: the walk can end

    def run(self) -> WalkResult:
        with self.changed:
            self._schedule_safely()
        while True:
            with self.changed:
                while self.unclaimed and self.unclaimed[0].claimed:
                    self.unclaimed.popleft()  # a worker took it
                if not self.sorter.is_active():
                    break
                if not self.unclaimed:
                    self.changed.wait()
                    continue
                task = self.unclaimed.popleft()
            self.budget.run_here(task)  # unless a worker took it meanwhile
        if self.error is not None:
            raise self.error
        return self.result
