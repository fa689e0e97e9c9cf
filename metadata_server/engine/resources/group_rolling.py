"""OS::Heat::ResourceGroup's rolling update (update_policy `rolling_update`: max_batch_size,
min_in_service, pause_time), Heat's way for a group whose members are named by index.

The sizes come from the scaling groups' plan (scaling_rolling.py); what differs is the count of
members up to date (only those within the new count: members a batch adds above it to keep
`min_in_service` serve for a while and go when the group shrinks back) and which members a batch
takes: the highest index first. The batch's names are the group's first `size` names (skipping
removed ones); a member outside them leaves first; new members take the free names.
"""
from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Callable

from metadata_server.engine.errors import StackValidationFailed
from metadata_server.engine.resources.scaling_rolling import (needs_update, next_batch,
                                                              pause_seconds, wait_until)

if TYPE_CHECKING:  # pragma: no cover
    from metadata_server.engine.resources.groups import ResourceGroup


def batch_members(names: list[str], current: dict[str, bool], target: int, new: int
                  ) -> tuple[list[str], list[str]]:
    """One batch: `names` are the group's first names for the batch's size, `current` maps
    each existing member to whether it is up to date. (the members after the batch, in name
    order; those that get the new definition in it)."""
    def priority(name: str) -> int:
        if name not in names:
            return 0  # outside the batch's size: goes first
        index = names.index(name)
        return target - index if index < target else len(names)  # highest index first
    order = sorted(current, key=priority)
    kept = order[max(0, len(order) - len(names)):]
    created = [n for n in names if n not in current][:len(names) - len(kept)]
    replace = max(0, new - len(created))
    updated = [n for n in kept if not current[n]][:replace]
    chosen = set(kept) | set(created)
    return [n for n in names if n in chosen], updated + created


def up_to_date(names: list[str], current: dict[str, bool], target: int) -> int:
    """Members up to date among the group's first `target` names (Heat's count)."""
    return sum(1 for n in names[:target] if current.get(n))


def plan(names_for: Callable[[int], list[str]], current: dict[str, bool], target: int,
         batch_size: int, min_in_service: int) -> list[tuple[int, int, list[str], list[str]]]:
    """Every batch from `current` (member -> up to date) on: (size after it, members new in
    it, their names, the members after it)."""
    batches = []
    current = dict(current)
    while True:
        done = up_to_date(names_for(max(target, len(current))), current, target)
        if not needs_update(target, len(current), done):
            return batches
        size, new = next_batch(target, len(current), done, batch_size, min_in_service)
        members, updated = batch_members(names_for(size), current, target, new)
        current = {n: current.get(n, False) or n in updated for n in members}
        batches.append((size, new, updated, members))


def policy(group: ResourceGroup) -> tuple[int, int, float] | None:
    """The update_policy's rolling_update as (min_in_service, max_batch_size, pause seconds);
    None without one (the members are then updated all at once, as in Heat)."""
    raw = (group.definition.update_policy if group.definition is not None else None) or {}
    rolling = raw.get("rolling_update") if isinstance(raw, dict) else None
    if not isinstance(rolling, dict):
        return None
    path = f"resources.{group.name}.update_policy.rolling_update"
    values = []
    for key, default, low in (("min_in_service", 0, 0), ("max_batch_size", 1, 1)):
        value = rolling.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise StackValidationFailed(f"{value!r} is out of range (min: {low})",
                                        f"{path}.{key}")
        values.append(value)
    try:
        pause = pause_seconds(rolling.get("pause_time", 0))
    except ValueError as exc:
        raise StackValidationFailed(str(exc), f"{path}.pause_time") from None
    return values[0], values[1], pause


def roll(group: ResourceGroup, before: dict[str, dict], token) -> None:
    """Update the members from their definitions `before` to the group's in Heat's batches,
    one nested update each, pausing between them."""
    min_in_service, batch_size, pause = policy(group)
    target = len(group.members())
    current = {name: definition == group.member(name) for name, definition in before.items()}
    batches = plan(group.names_for, current, target, batch_size, min_in_service)
    remaining = token.remaining()
    if pause and remaining is not None and pause * (len(batches) - 1) >= remaining:
        raise StackValidationFailed("The current update policy will result in stack update "
                                    "timeout.", f"resources.{group.name}")
    for index, (_, _, updated, members) in enumerate(batches):
        if index and pause:
            wait_until(group.ctx.clock, group.ctx.clock() + timedelta(seconds=pause), token,
                       group.ctx.poll_interval)
        current = {n: current.get(n, False) or n in updated for n in members}
        group.update_members({n: group.member(n) if current[n] else before[n] for n in members},
                             token)
