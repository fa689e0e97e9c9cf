"""The engine's threads: one fixed set of workers for all the work of one server process.

Every stack operation and every resource of every walk (nested stacks and groups included) is a
task queued here, so a tree of groups cannot multiply threads: it queues. Tasks are queued per
tenant and workers take them round-robin across tenants, and a tenant holds at most
`per_tenant` workers at once, so one tenant's heavy stack never takes every worker from another's.

Nested walks cannot deadlock when every worker is busy: a walk's caller (an operation, or a
resource creating its nested stack) runs its own walk's queued tasks itself while it waits for
them (`Budget.run_here`), so each walk always has at least one thread making progress and a
parent waiting on a child never needs a worker the child cannot get.
"""
from __future__ import annotations

import threading
from collections import deque
from typing import Any, Callable

IDLE_EXIT = 10.0  # seconds an idle worker lingers before its thread ends


class Task:
    """One queued call; `claim` decides, once, whether a worker or the walk's caller runs it."""

    __slots__ = ("fn", "args", "tenant", "claimed", "error", "_notify")

    def __init__(self, fn: Callable, args: tuple, tenant: str, notify: Callable | None):
        self.fn, self.args, self.tenant = fn, args, tenant
        self.claimed = False
        self.error: BaseException | None = None
        self._notify = notify

    def run(self) -> None:
        try:
            self.fn(*self.args)
        except BaseException as exc:  # handed to whoever waits for the task
            self.error = exc
        if self._notify is not None:
            self._notify(self)


class Budget:
    def __init__(self, threads: int, per_tenant: int | None = None,
                 initializer: Callable[[], Any] | None = None, name: str = "stoker-engine"):
        self.threads = max(0, threads)
        self.per_tenant = max(1, per_tenant if per_tenant is not None else self.threads // 2)
        self._initializer = initializer
        self._name = name
        self._cond = threading.Condition()
        self._queues: dict[str, deque[Task]] = {}  # tenant -> its tasks; dict order = turn
        self._busy: dict[str, int] = {}           # tenant -> workers running its tasks
        self._workers = 0   # worker threads alive
        self._running = 0   # of them, running a task
        self._pending = 0   # tasks queued and not yet claimed
        self._waiting: dict[str, int] = {}  # of them, per tenant
        self._closed = False
        self.peak_workers = 0  # most worker threads alive at once

    # -- queueing ----------------------------------------------------------------------------
    def submit(self, tenant: str, fn: Callable, *args, notify: Callable | None = None) -> Task:
        """Queue `fn(*args)`; `notify(task)` is called on the thread that ran it, after it ran."""
        task = Task(fn, args, tenant, notify)
        with self._cond:
            if self._closed:
                raise RuntimeError("the engine is stopped")
            self._queues.setdefault(tenant, deque()).append(task)
            self._pending += 1
            self._waiting[tenant] = self._waiting.get(tenant, 0) + 1
            if self._workers < self.threads and self._runnable() > self._workers - self._running:
                self._spawn()
            self._cond.notify()
        return task

    def run_here(self, task: Task) -> bool:
        """Run `task` on the calling thread unless a worker took it; True if it ran here."""
        with self._cond:
            if task.claimed:
                return False
            task.claimed = True  # left in its queue: workers skip claimed tasks
            self._claimed(task)
        task.run()
        return True

    def busy(self, tenant: str) -> int:
        """Workers running `tenant`'s tasks now."""
        with self._cond:
            return self._busy.get(tenant, 0)

    def stats(self) -> tuple[int, int, int]:
        """(worker threads alive, of them running a task, tasks queued)."""
        with self._cond:
            return self._workers, self._running, self._pending

    def queued(self) -> int:
        with self._cond:
            return self._pending

    def close(self) -> None:
        """Workers finish what is queued, then end."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    # -- workers -----------------------------------------------------------------------------
    def _spawn(self) -> None:
        self._workers += 1
        self.peak_workers = max(self.peak_workers, self._workers)
        threading.Thread(target=self._work, name=f"{self._name}-{self._workers}",
                         daemon=True).start()

    def _claimed(self, task: Task) -> None:
        self._pending -= 1
        self._waiting[task.tenant] -= 1
        if not self._waiting[task.tenant]:
            del self._waiting[task.tenant]

    def _runnable(self) -> int:
        """Queued tasks that free workers could start now (a tenant's share allowing)."""
        return sum(min(n, max(0, self.per_tenant - self._busy.get(t, 0)))
                   for t, n in self._waiting.items())

    def _next(self) -> Task | None:
        """The next task, taking tenants in turn; None if none may run now."""
        for tenant in list(self._queues):
            queue = self._queues[tenant]
            while queue and queue[0].claimed:
                queue.popleft()
            if not queue:
                del self._queues[tenant]
                continue
            if self._busy.get(tenant, 0) >= self.per_tenant:
                continue
            task = queue.popleft()
            task.claimed = True
            self._claimed(task)
            del self._queues[tenant]  # to the back of the turn
            if queue:
                self._queues[tenant] = queue
            return task
        return None

    def _work(self) -> None:
        if self._initializer is not None:
            self._initializer()
        with self._cond:
            while True:
                task = self._next()
                if task is None:
                    if self._closed and not self._pending:
                        break
                    if not self._cond.wait(IDLE_EXIT) and not self._pending:
                        break
                    continue
                self._busy[task.tenant] = self._busy.get(task.tenant, 0) + 1
                self._running += 1
                self._cond.release()
                try:
                    task.run()
                finally:
                    self._cond.acquire()
                    self._running -= 1
                    self._busy[task.tenant] -= 1
                    if not self._busy[task.tenant]:
                        del self._busy[task.tenant]
                    self._cond.notify()  # a task its tenant's cap held back may run now
            self._workers -= 1
