"""The agent's poll loop: collect -> cache -> (on change) run deployments -> commit.

One iteration: retry pending signals, ask every collector, store what they answered in the cache
(exploding os-apply-config deployments), and when anything changed (or on the first iteration of
the process) run the deployments list. `.last` is committed only after the run completed, so a
run that could not finish is tried again on the next poll, as os-collect-config does.
"""
from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass, field
from typing import Any, Callable, Protocol, Sequence

from agent.outbox import Outbox
from agent.runner import ItemReport
from agent.shutdown import Stopped
from collector import occ_loop
from collector.base import Collector
from collector.cache import Cache
from collector.merger import merged_deployments
from stoker_common.backoff import Backoff

log = logging.getLogger(__name__)


@dataclass
class IterationResult:
    answered: list[str] = field(default_factory=list)  # collectors that produced data
    unavailable: list[tuple[str, str]] = field(default_factory=list)  # (collector, reason)
    changed: list[str] = field(default_factory=list)  # cache keys whose data changed
    ran: bool = False
    reports: list[ItemReport] = field(default_factory=list)
    error: str | None = None  # why the run could not complete

    @property
    def completed(self) -> bool:
        """Something was collected and, if a run was due, it completed."""
        return bool(self.answered) and self.error is None


class Runner(Protocol):
    """What the loop needs of agent.runner.DeploymentRunner."""

    def run(self, deployments: list) -> list[ItemReport]: ...

    def rerun_requested(self) -> bool:
        """`stoker agent redeploy` asked for a run although nothing changed."""
        ...


class Agent:
    def __init__(self, collectors: Sequence[Collector], cache: Cache, runner: Runner, outbox: Outbox):
        self.collectors = list(collectors)
        self.cache = cache
        self.runner = runner
        self.outbox = outbox
        self._first_run_done = False
        # Wraps each collector call; the daemon makes it interruptible by SIGTERM (shutdown.py).
        self.interruptible: Callable[[], Any] = contextlib.nullcontext

    def iterate(self) -> IterationResult:
        result = IterationResult()
        # A pending result must not wait behind a long poll the server may hold for half a minute:
        # collectors that long-poll ask for an immediate answer while anything is pending.
        urgent = self.outbox.flush() > 0 or self.runner.rerun_requested()

        # The same poll step as the os-collect-config drop-in: a source that fails keeps its last
        # good data, so the runner never gets a list missing that source's deployments.
        collected = occ_loop.collect_all(self.collectors, self.cache, store=True,
                                         call=lambda collector: self._collect(collector, urgent), warn=False)
        failed = {name for name, _ in collected.unavailable}
        result.answered = [c for c in collected.sources if c not in failed]
        result.unavailable = collected.unavailable
        result.changed = collected.changed
        if result.changed:
            occ_loop.record(self.cache, collected)

        if not result.answered:
            return result
        rerun = self.runner.rerun_requested()
        if not result.changed and self._first_run_done and not rerun:
            log.debug("no changes")
            return result
        result.ran = True
        try:
            result.reports = self.runner.run(merged_deployments(collected.content.items()))
        except Exception as exc:
            result.error = f"deployment run failed: {exc}"
            log.error("%s; nothing committed, will retry", result.error)
            log.debug("details", exc_info=True)
            return result
        for key in result.changed:
            self.cache.commit(key)
        self._first_run_done = True
        return result

    def run_forever(self, backoff: Backoff, sleep: Callable[[float], bool]) -> int:
        """Poll until `sleep` reports a stop request; returns the exit code (0)."""
        while True:
            try:
                result = self.iterate()
            except Stopped:
                log.info("stopped")
                return 0
            except Exception as exc:  # a bug or a full disk must not end the daemon
                log.error("iteration failed: %s: %s", type(exc).__name__, exc)
                log.debug("details", exc_info=True)
                result = IterationResult(error=str(exc))
            backoff.follow_server(self.collectors)
            delay = backoff.next(changed=bool(result.changed) and result.error is None)
            for name, reason in result.unavailable:
                log.warning("collector %s: %s; retrying in %.1fs", name, reason, delay)
            # A long poll the server held already waited that long for a change.
            held = max((c.held_for for c in self.collectors), default=0.0)
            if held and not result.changed:
                delay = max(0.0, delay - held)
            due = self._signal_due()
            if due is not None and due < delay:
                delay = max(0.05, due)  # a pending signal is due before the next poll
            delay = max(delay, 0.05)
            if sleep(delay):
                log.info("stopped")
                return 0

    def _signal_due(self) -> float | None:
        try:
            due = self.outbox.next_due()
        except Exception:  # the outbox's own flush reports its problems
            return None
        return None if due is None else due - self.outbox.clock()

    def _collect(self, collector: Collector, urgent: bool = False) -> list[tuple[str, Any]]:
        with self.interruptible():
            return collector.collect_promptly() if urgent else collector.collect()
