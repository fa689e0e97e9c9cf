"""The batch plan of a scaling group's rolling update, and which members each batch touches.

Heat's arithmetic (reference: heat-scaling-cfn-lifecycle.md §3). A batch is (the group's size
after it, how many members get the new definition in it, by creation or in place). The group may
grow above its target while a batch runs so that `min_in_service` members stay in service, and
comes back to the target at the end. The plan only needs (target, size, members already up to
date), so an interrupted update plans its remaining batches from what the members show.

Which members a batch touches: FAILED ones first, then those still on an older definition,
oldest first; members already up to date last. Heat orders by creation only, which for a member
updated in place (it keeps its creation time) can drop the updated member when the group shrinks
back and keep a stale one; with up-to-date members last, every member ends up updated.
"""
from __future__ import annotations

import re
from datetime import datetime
from typing import Callable

# an ISO 8601 duration as CloudFormation's PauseTime gives it: PT1H2M3S (parts optional)
_DURATION = re.compile(r"^PT(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?$")


def needs_update(target: int, size: int, up_to_date: int) -> bool:
    """Whether another batch is due: done once the group is at its target and every member
    is up to date."""
    return not (up_to_date >= size == target)


def next_batch(target: int, size: int, up_to_date: int, batch_size: int,
               min_in_service: int) -> tuple[int, int]:
    """(the group's size after the next batch, members that get the new definition in it)."""
    in_service = min(min_in_service, target, size)
    batch = min(batch_size, max(target - up_to_date, 0))
    return batch + max(min(size, target - batch), in_service), batch


def batches(target: int, size: int, batch_size: int, min_in_service: int,
            up_to_date: int = 0) -> list[tuple[int, int]]:
    """Every batch of a rolling update that starts with `up_to_date` members already new."""
    plan = []
    while needs_update(target, size, up_to_date):
        size, new = next_batch(target, size, up_to_date, batch_size, min_in_service)
        plan.append((size, new))
        up_to_date += new
    return plan


def apply_batch(ordered: list[str], stale: set[str], failed: set[str], size: int, new: int,
                new_name: Callable[[], str]) -> tuple[list[str], list[str]]:
    """One batch over the members in creation order: (the members after it, in creation order,
    those of them that get the new definition). Shrinking drops from the front of the batch
    order (FAILED, then stale, then up to date; oldest first in each); `new` counts members
    created in the batch first, existing stale ones make up the rest."""
    order = ([n for n in ordered if n in failed]
             + [n for n in ordered if n in stale and n not in failed]
             + [n for n in ordered if n not in stale and n not in failed])
    dropped = set(order[:max(0, len(order) - size)])
    kept = [n for n in ordered if n not in dropped]
    created = []
    while len(kept) + len(created) < size:
        name = new_name()
        if name not in kept and name not in created:
            created.append(name)
    replace = max(0, new - len(created))
    updated = [n for n in order if n not in dropped and n in stale][:replace]
    return kept + created, updated + created


def pause_seconds(value) -> float:
    """A pause_time (seconds) or a PauseTime (ISO 8601 duration, e.g. PT1M30S) in seconds;
    ValueError for anything else."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a duration")
    if isinstance(value, (int, float)):
        if value < 0:
            raise ValueError(f"{value} is out of range (min: 0)")
        return float(value)
    if isinstance(value, str):
        text = value.strip()
        match = _DURATION.match(text)
        if match and text != "PT":
            hours, minutes, seconds = (int(g or 0) for g in match.groups())
            return float(hours * 3600 + minutes * 60 + seconds)
        try:
            return pause_seconds(float(text))
        except ValueError:
            pass
    raise ValueError(f"{value!r} is not a duration (seconds, or ISO 8601 like PT1M30S)")


def wait_until(clock: Callable[[], datetime], until: datetime, token, poll: float) -> None:
    """A pause between batches, on the engine's clock (which tests move), in steps of `poll`:
    a cancel or the operation's timeout ends it (Cancelled)."""
    while clock() < until:
        left = (until - clock()).total_seconds()
        token.wait(max(0.01, min(poll, left)))
        token.check()
