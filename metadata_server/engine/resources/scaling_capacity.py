"""What every scaling group shares: the new size a policy asks for, and the group's cooldown.

Heat's rules (reference: heat-scaling-cfn-lifecycle.md §1-2): the adjustment is applied to the
members that are not FAILED, a percentage moves at least one member, min_adjustment_step widens
a percentage step, and the bounds come last. One cooldown end is kept per group: the later of
the stored end and the one a finished scaling asks for; while it lies ahead a signal is refused.
(A scaling that runs refuses signals too: scaling_group.py claims the group's nested stack.)
"""
from __future__ import annotations

import math
from datetime import datetime, timedelta

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
    data.pop("scaling_in_progress", None)  # kept by older versions; the claim replaces it
