"""stoker's own alarm evaluator: on a thread of its own beside the server's background work.

Each tick takes the alarms that are due, a bounded number, shared fairly among the tenants that
have some due (each gets an equal part; the most overdue tenants first), claims each (so the
processes sharing the database evaluate an alarm once per round), reads the windows of the
servers its query matches, and decides its state by Aodh's rules (alarm_rules.py). A transition
is written to the alarm and recorded as a SIGNAL event of the alarm resource; a transition (or,
with repeat_actions, every definite evaluation) calls the actions of the new state, on a small
bounded pool, through `notify(url, payload)` (api/alarm_actions.py: in-process for stoker's own
URLs, else HTTP), which answers None or what went wrong; a failure is an event too.
"""
from __future__ import annotations

import logging
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from itertools import zip_longest
from typing import Callable
from urllib.parse import urlsplit

from metadata_server.service import alarm_time
from metadata_server.service.alarm_matching import matcher
from metadata_server.service.alarm_rules import ALARM, OK, UNKNOWN, Rule, datapoints, decide
from metadata_server.service.metric_samples import epoch
from metadata_server.store.alarms import AlarmStore
from metadata_server.store.metric_window import MetricWindow
from metadata_server.store.stacks import StackStore

log = logging.getLogger("stoker.alarms")
ACTIONS_OF = {ALARM: "alarm_actions", OK: "ok_actions", UNKNOWN: "insufficient_data_actions"}
Notify = Callable[[str, dict], "str | None"]


@dataclass
class EvaluatorOptions:
    interval: float = 60.0        # seconds between two evaluations of one alarm (Aodh's default)
    max_per_tick: int = 50        # alarms evaluated per tick, all tenants together
    tick: float = 2.0             # seconds between looks for due alarms
    action_threads: int = 4
    max_pending_actions: int = 256   # queued action calls; past it a call is dropped, counted
    max_events_per_stack: int = 1000


class AlarmEvaluator:
    def __init__(self, db, clock, notify: Notify, options: EvaluatorOptions | None = None,
                 ready: Callable[[], bool] = lambda: True):
        """`ready`: whether evaluation may start (the server's engine, whose URLs the actions
        call, is made)."""
        self.options = options or EvaluatorOptions()
        self.ready = ready
        self.clock, self.notify = clock, notify
        self.alarms, self.window, self.stacks = AlarmStore(db), MetricWindow(db), StackStore(db)
        self.evaluated = 0          # for /metrics
        self.actions_called = 0
        self.actions_failed = 0
        self.actions_dropped = 0
        self.lag = 0.0              # how late the most overdue alarm was at the last tick
        self._pending = 0
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._pool = ThreadPoolExecutor(self.options.action_threads,
                                        thread_name_prefix="stoker-alarm-action")
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- one round ---------------------------------------------------------------------------
    def tick(self) -> int:
        """Evaluate what is due now (at most max_per_tick alarms); how many were evaluated."""
        now = epoch(self.clock)
        oldest = self.alarms.oldest_due(now)
        self.lag = max(0.0, now - oldest) if oldest is not None else 0.0
        budget = self.options.max_per_tick
        tenants = self.alarms.due_tenants(now, budget)
        if not tenants:
            return 0
        done = 0
        for row in self._fair_share(tenants, now, budget):
            if not self.alarms.claim(row, now + self.options.interval):
                continue   # another process took it this round
            try:
                self.evaluate(row, now)
            except Exception:  # noqa: BLE001 - one bad alarm must not stop the others
                log.exception("alarm %s of stack %s: evaluation failed", row["id"], row["stack_id"])
            done += 1
        self.evaluated += done
        return done

    def _fair_share(self, tenants: list[str], now: float, budget: int) -> list[dict]:
        """Up to `budget` due alarms: an equal share per tenant, then what the tenants with
        fewer left unused, dealt out in turns among those with more."""
        share = max(1, budget // len(tenants))
        picked = {t: self.alarms.due(t, now, share) for t in tenants}
        rows = [row for t in tenants for row in picked[t]][:budget]
        left = budget - len(rows)
        hungry = [t for t in tenants if len(picked[t]) == share]
        if left > 0 and hungry:
            more = [self.alarms.due(t, now, share + left)[share:] for t in hungry]
            for turn in zip_longest(*more):
                extra = [row for row in turn if row is not None][:left]
                rows.extend(extra)
                left -= len(extra)
        return rows

    def evaluate(self, row: dict, now: float) -> str:
        """Decide one alarm's state now; act on it. The state it is in afterwards."""
        body = row["body"]
        if not alarm_time.within(body.get("time_constraints"), now):
            self.alarms.record(row["id"], now)   # outside its time constraints: skipped
            return row["state"]
        rule, match = Rule.from_body(body), matcher(body)
        servers = [s for s in self.alarms.servers_of_tree(row["stack_id"])
                   if match(dict(s, tenant=row["tenant"]))]
        windows = self.window.samples_since([s["id"] for s in servers], now - rule.window())
        values = datapoints(rule, windows, now)
        decision = decide(rule, row["state"], bool(body.get("repeat_actions", True)), values)
        if decision is None:
            self.alarms.record(row["id"], now)
            return row["state"]
        actions = list(body.get(ACTIONS_OF[decision.state]) or [])
        if decision.changed:
            self.alarms.record(row["id"], now, decision.state, decision.reason)
            called = f"; calling {len(actions)} {ACTIONS_OF[decision.state]}" if actions else ""
            self._event(row, f"alarm state changed from {row['state']} to {decision.state} "
                             f"({decision.reason}){called} [{len(servers)} servers matched]")
        else:
            self.alarms.record(row["id"], now)
        if decision.notify:
            payload = {"alarm_name": body.get("name", row["resource_name"]), "alarm_id": row["id"],
                       "severity": body.get("severity", "low"), "previous": row["state"],
                       "current": decision.state, "reason": decision.reason,
                       "reason_data": decision.reason_data}
            for url in actions:
                self._call(row, url, payload)
        return decision.state

    # -- actions, off the evaluating thread ----------------------------------------------------
    def _call(self, row: dict, url: str, payload: dict) -> None:
        with self._lock:
            if self._pending >= self.options.max_pending_actions:
                self.actions_dropped += 1
                log.warning("alarm %s: action to %s dropped (%d calls queued)", row["id"],
                            _where(url), self._pending)
                return
            self._pending += 1
        self._pool.submit(self._run_call, row, url, payload)

    def _run_call(self, row: dict, url: str, payload: dict) -> None:
        try:
            try:
                problem = self.notify(url, payload)
            except Exception as exc:  # noqa: BLE001 - reported in the event, as any failure
                problem = f"{type(exc).__name__}: {exc}"
            with self._lock:
                self.actions_called += 1
                self.actions_failed += bool(problem)
            if problem:
                log.warning("alarm %s: action to %s failed: %s", row["id"], _where(url), problem)
                self._event(row, f"alarm action to {_where(url)} failed: {problem}")
        finally:
            with self._idle:
                self._pending -= 1
                self._idle.notify_all()

    def _event(self, row: dict, reason: str) -> None:
        event = {"id": str(uuid.uuid4()), "stack_id": row["stack_id"],
                 "resource_name": row["resource_name"], "physical_resource_id": row["id"],
                 "resource_type": row["resource_type"], "action": "SIGNAL", "status": "COMPLETE",
                 "status_reason": reason, "created_at": self.clock()}
        try:
            self.stacks.apply([], [], [], [event])
            self.stacks.purge_events(row["stack_id"], self.options.max_events_per_stack)
        except Exception as exc:  # noqa: BLE001 - e.g. the stack was purged meanwhile
            log.warning("alarm %s: event not recorded: %s", row["id"], exc)

    # -- the thread ----------------------------------------------------------------------------
    def start(self) -> "AlarmEvaluator":
        if self._thread is not None:
            return self
        self._thread = threading.Thread(target=self._run, name="stoker-alarm-evaluator",
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)
        self._pool.shutdown(wait=False, cancel_futures=True)

    def wait_for_actions(self, timeout: float) -> bool:
        """Whether every queued action call finished within `timeout` (tests, shutdown)."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                busy = self.ready() and self.tick() >= self.options.max_per_tick
            except Exception as exc:  # noqa: BLE001 - e.g. the database is briefly away
                log.error("alarm evaluation failed: %s: %s; retrying", type(exc).__name__, exc)
                busy = False
            # a full tick means more is due: go on at once, yet let the stop be seen
            self._stop.wait(0 if busy else self.options.tick)

    def gauges(self) -> dict[str, float]:
        gauges = {"stoker_alarms_evaluated_total": self.evaluated,
                  "stoker_alarm_evaluation_lag_seconds": round(self.lag, 3),
                  "stoker_alarm_actions_called_total": self.actions_called,
                  "stoker_alarm_actions_failed_total": self.actions_failed,
                  "stoker_alarm_actions_dropped_total": self.actions_dropped}
        counts = self.alarms.count_by_state()
        for state in (ALARM, OK, UNKNOWN):
            gauges[f'stoker_alarms{{state="{state}"}}'] = counts.get(state, 0)
        return gauges


def _where(url: str) -> str:
    """An action URL named without its query (a pre-signed URL's signature is a secret)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}" if parts.netloc else parts.scheme or "?"
