"""OS::Heat::AutoScalingGroup: a group whose size policies change between min_size and max_size.

Members are copies of `resource` (any type, a provider template too) in a nested stack the group
writes, named by short ids as in Heat. The group keeps its members in creation order; its member
order is Heat's: FAILED members first, then the oldest. Shrinking keeps the last ones, so failed
members go first, then the oldest. A policy's signal reaches `adjust` (scaling_policy.py,
scaling_resize.py); a changed member definition rolls through the members in batches
(scaling_rolling.py's plan).
"""
from __future__ import annotations

from typing import Any

from metadata_server.engine import status as st
from metadata_server.engine.errors import StackValidationFailed
from metadata_server.engine.resources.base import Prop
from metadata_server.engine.resources.groups import _count, _Group
from metadata_server.engine.resources.scaling_capacity import finish_scaling
from metadata_server.engine.resources.scaling_resize import GroupResize
from metadata_server.engine.resources.scaling_rolling import (apply_batch, batches, needs_update,
                                                              next_batch, pause_seconds,
                                                              wait_until)

ROLLING_DEFAULTS = {"min_in_service": 0, "max_batch_size": 1, "pause_time": 0}


class AutoScalingGroup(GroupResize, _Group):
    type_name = "OS::Heat::AutoScalingGroup"
    properties_schema = {
        "min_size": Prop("integer", required=True, update_allowed=True),
        "max_size": Prop("integer", required=True, update_allowed=True),
        "desired_capacity": Prop("integer", update_allowed=True),
        "cooldown": Prop("integer", update_allowed=True),
        "resource": Prop("map", required=True, update_allowed=True),
        "rolling_updates": Prop("map", default=ROLLING_DEFAULTS, update_allowed=True),
        # stoker's opt-in: the cooldown lasts until the members the last scaling added have
        # finished their deployments, instead of `cooldown` seconds
        "cooldown_until_deployed": Prop("boolean", default=False, update_allowed=True),
    }
    attributes_schema = ("current_size", "outputs", "outputs_list", "refs", "refs_map")

    @classmethod
    def check(cls, name, properties):
        path = f"resources.{name}.properties"
        low, high, desired = (properties["min_size"], properties["max_size"],
                              properties["desired_capacity"])
        if low < 0:
            raise StackValidationFailed(f"{low} is out of range (min: 0)", f"{path}.min_size")
        if high < low:
            raise StackValidationFailed("MinSize can not be greater than MaxSize",
                                        f"{path}.max_size")
        if desired is not None and not low <= desired <= high:
            raise StackValidationFailed("DesiredCapacity must be between MinSize and MaxSize",
                                        f"{path}.desired_capacity")
        if not isinstance(properties["resource"].get("type"), str):
            raise StackValidationFailed("Property type not assigned", f"{path}.resource.type")
        rolling = dict(ROLLING_DEFAULTS, **(properties["rolling_updates"] or {}))
        unknown = set(rolling) - set(ROLLING_DEFAULTS)
        if unknown:
            raise StackValidationFailed(f"Unknown Property {sorted(unknown)[0]}",
                                        f"{path}.rolling_updates")
        for key, low in (("max_batch_size", 1), ("min_in_service", 0)):
            if _count(rolling[key]) is None or int(rolling[key]) < low:
                raise StackValidationFailed(f"{rolling[key]} is out of range (min: {low})",
                                            f"{path}.rolling_updates.{key}")
        try:
            pause_seconds(rolling["pause_time"])
        except ValueError as exc:
            raise StackValidationFailed(str(exc), f"{path}.rolling_updates.pause_time") from None

    @classmethod
    def member_count(cls, properties):
        """Counted at max_size: policies may grow the group there without a stack operation
        that would count the tree again, so the limits must hold for the largest group."""
        size = _count(properties.get("max_size"))
        member = properties.get("resource")
        if size is None or not isinstance(member, dict):
            return None
        return size, member

    # -- what the AWS spellings answer differently (scaling_aws.py) --------------------------
    @staticmethod
    def sizes(properties: dict) -> tuple[int, int, int | None, float | None]:
        """(min, max, desired, cooldown) from the properties."""
        return (properties["min_size"], properties["max_size"], properties["desired_capacity"],
                properties["cooldown"])

    def member_definition(self) -> dict:
        definition = self.properties["resource"]
        return {k: v for k, v in definition.items()
                if k in ("type", "properties", "metadata") and v is not None}

    def rolling_policy(self) -> tuple[int, int, float]:
        """(min_in_service, max_batch_size, pause seconds) of a rolling update."""
        rolling = dict(ROLLING_DEFAULTS, **(self.properties.get("rolling_updates") or {}))
        return (int(rolling["min_in_service"]), max(1, int(rolling["max_batch_size"])),
                pause_seconds(rolling["pause_time"]))

    def member_changed(self, changed: set[str]) -> bool:
        return "resource" in changed

    # -- members -----------------------------------------------------------------------------
    def _failed(self, member: str) -> bool:
        row = self.ctx.finder.find_resource(self.physical_id, member) if self.physical_id else None
        return bool(row) and row.get("status") == st.FAILED

    def _ordered(self) -> list[str]:
        """Heat's member order: FAILED first, then by creation."""
        names = list(self.data.get("members") or [])
        return [n for n in names if self._failed(n)] + [n for n in names if not self._failed(n)]

    def _names(self):
        return self._ordered()

    def current_size(self) -> int:
        return sum(1 for n in self.data.get("members") or [] if not self._failed(n))

    def _choose(self, size: int) -> None:
        """Keep the last `size` members of the order (failed ones leave first, then the
        oldest), or add new ones after the existing."""
        names = list(self.data.get("members") or [])
        if size <= len(names):
            keep = set(self._ordered()[len(names) - size:])
            names = [n for n in names if n in keep]
        while len(names) < size:
            name = self.ctx.short_id()
            if name not in names:
                names.append(name)
        self.data["members"] = names

    def members(self):
        """Each member's definition: the group's, or, while a rolling update has not reached
        it, the older one it still has (`outdated`: member -> index into `older`)."""
        member = self.member_definition()
        older, outdated = self.data.get("older") or [], self.data.get("outdated") or {}
        return {name: dict(older[outdated[name]] if name in outdated else member)
                for name in self.data.get("members") or []}

    def _batched(self, members, policy_key):
        return members  # a rolling update runs its batches one nested update after another

    # -- lifecycle ---------------------------------------------------------------------------
    def _initial_size(self) -> int:
        low, _, desired, _ = self.sizes(self.properties)
        return desired or low

    def handle_create(self, token):
        self._choose(self._initial_size())
        self.data["awaiting"] = list(self.data["members"])
        self.data["member"] = self.member_definition()
        super().handle_create(token)
        # a fresh group is in cooldown for its own cooldown, as in Heat
        finish_scaling(self.data, self.ctx.clock(), self.sizes(self.properties)[3],
                       str(len(self.data["members"])), True)

    def handle_update(self, new_properties, changed, token):
        """A changed member definition first updates the members in batches (rolling_updates:
        max_batch_size, min_in_service, pause_time between batches), in place where the member
        type allows, so they keep their names; then desired_capacity if given, else the
        current size, within the new bounds."""
        with self._latest(token):
            before = self._applied()
            self.properties = new_properties
            if self.member_changed(changed) and before is not None:
                self._start_rolling(before)
            self._finish_update(token)

    def _applied(self) -> dict[str, dict] | None:
        """Each member's definition as the nested stack has it: the one the group last
        applied (kept in its data: the old properties may name a launch configuration an
        update has replaced), or an older one a rolling update has not replaced yet. None when
        not known (a group made before the group kept it): its members are then updated
        together."""
        applied = self.data.get("member")
        if applied is None:
            try:
                applied = self.member_definition()
            except StackValidationFailed:
                return None
        older, outdated = self.data.get("older") or [], self.data.get("outdated") or {}
        return {name: dict(older[outdated[name]] if name in outdated else applied)
                for name in self.data.get("members") or []}

    def _start_rolling(self, before: dict[str, dict]) -> None:
        """Note which members still have an older definition, and the update's target size."""
        member, older, outdated = self.member_definition(), [], {}
        for name, definition in before.items():
            if definition != member:
                if definition not in older:
                    older.append(definition)
                outdated[name] = older.index(definition)
        wanted, current = self.sizes(self.properties)[2], len(self.data.get("members") or [])
        self.data.update(older=older, outdated=outdated,
                         rolling_target=min(current if wanted is None else wanted, current))

    def _finish_update(self, token) -> None:
        """The rest of an update: the batches still due, then the size. Also what an update
        an engine restart interrupted continues with."""
        if "rolling_target" in self.data:
            self._roll(token)
        low, high, wanted, cooldown = self.sizes(self.properties)
        size = self.current_size() if wanted is None else wanted
        size = max(low, min(high, size))
        self._choose(size)
        self._update_members(token)
        finish_scaling(self.data, self.ctx.clock(), cooldown, str(size), True)

    def _roll(self, token) -> None:
        min_in_service, batch_size, pause = self.rolling_policy()
        target = int(self.data["rolling_target"])

        def state() -> tuple[list[str], dict]:
            return list(self.data.get("members") or []), dict(self.data.get("outdated") or {})
        names, outdated = state()
        plan = batches(target, len(names), batch_size, min_in_service, len(names) - len(outdated))
        remaining = token.remaining()
        if pause and remaining is not None and pause * (len(plan) - 1) >= remaining:
            raise StackValidationFailed("The current update policy will result in stack "
                                        "update timeout.", f"resources.{self.name}")
        first = "paused_until" not in self.data
        while needs_update(target, len(names), len(names) - len(outdated)):
            if not first:
                self._pause(pause, token)
            first = False
            size, new = next_batch(target, len(names), len(names) - len(outdated), batch_size,
                                   min_in_service)
            failed = {n for n in names if self._failed(n)}
            names, updated = apply_batch(names, set(outdated), failed, size, new,
                                         self.ctx.short_id)
            outdated = {n: i for n, i in outdated.items() if n in names and n not in updated}
            self.data.update(members=names, outdated=outdated, paused_until=None)
            self.checkpoint()  # a restart continues from this batch (_finish_update)
            self._update_members(token)
            names, outdated = state()
        for key in ("older", "outdated", "rolling_target", "paused_until"):
            self.data.pop(key, None)

    def _pause(self, seconds: float, token) -> None:
        """pause_time between batches, on the engine's clock; a cancel or the stack timeout
        ends it. The end is kept, so a restart waits only for the rest of it."""
        from datetime import datetime, timedelta

        stored = self.data.get("paused_until")
        until = (datetime.fromisoformat(stored) if stored
                 else self.ctx.clock() + timedelta(seconds=seconds))
        self.data["paused_until"] = until.isoformat()
        self.checkpoint()
        wait_until(self.ctx.clock, until, token, self.ctx.poll_interval)

    def continue_interrupted(self, step, token):
        """Finish the nested stack's interrupted operation; an update then goes on with the
        batches still due and the size."""
        super().continue_interrupted(step, token)
        if step == st.UPDATE:
            with self._latest(token):
                self._finish_update(token)

    # -- attributes --------------------------------------------------------------------------
    def attribute_at(self, name, path):
        if name in ("outputs", "outputs_list") and path and self.physical_id:
            values = dict(self._each(".".join(str(p) for p in path)))
            return values if name == "outputs" else list(values.values())
        return super().attribute_at(name, path)

    def attribute(self, name) -> Any:
        if name == "current_size":
            return self.current_size() if self.physical_id else None
        if name in ("outputs", "outputs_list"):
            return None  # needs a path: [group, outputs, <attr>]
        return super().attribute(name)
