"""What every scaling group shares: the new size a policy asks for, and the group's cooldown.

Heat's rules (reference: heat-scaling-cfn-lifecycle.md §1-2): the adjustment is applied to the
members that are not FAILED, a percentage moves at least one member, min_adjustment_step widens
a percentage step, and the bounds come last. One cooldown end is kept per group: the later of
the stored end and the one a finished scaling asks for; while it lies ahead, or while a scaling
runs, a signal is refused.
"""
from __future__ import annotations

import math
import threading
import time
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Iterator

CHANGE, EXACT, PERCENT = "change_in_capacity", "exact_capacity", "percent_change_in_capacity"
# the AWS spellings name the same three
ADJUSTMENT_TYPES = {CHANGE: CHANGE, EXACT: EXACT, PERCENT: PERCENT, "ChangeInCapacity": CHANGE,
                    "ExactCapacity": EXACT, "PercentChangeInCapacity": PERCENT}


def _percent_step(current: int, adjustment: float, min_step: int | None) -> int:
    delta = current * adjustment / 100.0
    if abs(delta) < 1:  # any non-zero percentage moves at least one member
        step = math.ceil(delta) if delta > 0 else math.floor(delta)
    else:
        step = math.floor(delta) if delta > 0 else math.ceil(delta)
    if min_step and min_step > abs(step):
        step = min_step if step > 0 else -min_step  # a step of 0 counts as negative (Heat)
    return step


def new_capacity(current: int, adjustment: float, adjustment_type: str,
                 min_step: int | None, lower: int, upper: int) -> int:
    """The group's size after the adjustment, within [lower, upper]."""
    kind = ADJUSTMENT_TYPES[adjustment_type]
    if kind == CHANGE:
        wanted = current + int(adjustment)
    elif kind == EXACT:
        wanted = int(adjustment)
    else:
        wanted = current + _percent_step(current, adjustment, min_step)
    return max(lower, min(upper, wanted))


def cooldown_refusal(data: dict, now: datetime) -> str | None:
    """Why a scaling may not start now (None: it may). The stored end wins over any cooldown
    the policy now asks for, as in Heat."""
    if data.get("scaling_in_progress"):
        return "a scaling of the group is already running"
    end = data.get("cooldown_end") or {}
    for until, reason in end.items():
        if now.isoformat() < until:
            return f"the group is in cooldown until {until} (after {reason})"
    return None


def finish_scaling(data: dict, now: datetime, cooldown: float | None, reason: str,
                   changed: bool) -> None:
    """A scaling (or the group's create or update) ended: a changed size starts a cooldown."""
    if changed:
        until = (now + timedelta(seconds=max(0.0, float(cooldown or 0)))).isoformat()
        stored = next(iter(data.get("cooldown_end") or {}), "")
        if until >= stored:
            data["cooldown_end"] = {until: reason}
    data["scaling_in_progress"] = False
    data["scaling_serial"] = int(data.get("scaling_serial", 0)) + 1


# what a scaling changes in the group's data; the serial tells the newer of two copies
STATE_KEYS = ("members", "cooldown_end", "scaling_in_progress", "scaling_serial", "awaiting")


class _Guard:
    """One resize at a time per group in this process, from the group's latest state: each
    signal loads the stack afresh, and the state an earlier signal left may not be stored yet
    when the next one starts. Entries idle for KEEP seconds are dropped (their state is in the
    store by then), so the table stays as small as the recent signals."""
    KEEP = 300.0

    def __init__(self):
        self._lock = threading.Lock()
        self._groups: dict[tuple, tuple[threading.Lock, float, dict]] = {}

    @contextmanager
    def holding(self, key: tuple, stored: dict, wait: bool = True) -> Iterator[dict | None]:
        """The group's lock, and its scaling state: the newer (by serial) of `stored` and
        what this process last left. What the body leaves in the yielded dict is kept.
        With wait=False, None at once when another holds the group."""
        with self._lock:
            now = time.monotonic()
            for old in [k for k, (lock, at, _) in self._groups.items()
                        if now - at > self.KEEP and not lock.locked()]:
                del self._groups[old]
            lock, _, latest = self._groups.get(key, (threading.Lock(), now, {}))
            self._groups[key] = (lock, now, latest)
        if not lock.acquire(blocking=wait):
            yield None
            return
        try:
            latest = self._groups[key][2]
            newer = latest if latest.get("scaling_serial", 0) > stored.get(
                "scaling_serial", 0) else stored
            state = {k: newer[k] for k in STATE_KEYS if k in newer}
            try:
                yield state
            finally:
                with self._lock:
                    self._groups[key] = (lock, time.monotonic(), dict(state))
        finally:
            lock.release()


GUARD = _Guard()
