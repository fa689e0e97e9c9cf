"""OS::Heat::AutoScalingGroup: a group whose size policies change between min_size and max_size.

Members are copies of `resource` (any type, a provider template too) in a nested stack the group
writes, named by short ids as in Heat. The group keeps its members in creation order; its member
order is Heat's: FAILED members first, then the oldest. Shrinking keeps the last ones, so failed
members go first, then the oldest. A policy's signal reaches `adjust` (scaling_policy.py).
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Iterator

from metadata_server.engine import status as st
from metadata_server.engine.errors import StackValidationFailed
from metadata_server.engine.resources.base import Prop
from metadata_server.engine.resources.groups import _count, _Group
from metadata_server.engine.resources.scaling_capacity import (
    GUARD, STATE_KEYS, cooldown_refusal, finish_scaling, new_capacity)

# a resize runs outside any stack operation (a signal starts it): this bounds its wait
RESIZE_TIMEOUT = 3600.0
ROLLING_DEFAULTS = {"min_in_service": 0, "max_batch_size": 1, "pause_time": 0}


class AutoScalingGroup(_Group):
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
    _rolling = False

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
        if _count(rolling["max_batch_size"]) is None or int(rolling["max_batch_size"]) < 1:
            raise StackValidationFailed(f"{rolling['max_batch_size']} is out of range (min: 1)",
                                        f"{path}.rolling_updates.max_batch_size")

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

    def batch_size(self) -> int:
        rolling = dict(ROLLING_DEFAULTS, **(self.properties.get("rolling_updates") or {}))
        return max(1, int(rolling["max_batch_size"]))

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
        member = self.member_definition()
        return {name: dict(member) for name in self.data.get("members") or []}

    def _batched(self, members, policy_key):
        if not self._rolling:
            return members
        names, size = list(members), self.batch_size()
        for index in range(size, len(names)):
            batch = index // size
            members[names[index]] = dict(members[names[index]],
                                         depends_on=names[(batch - 1) * size: batch * size])
        return members

    # -- lifecycle ---------------------------------------------------------------------------
    def _initial_size(self) -> int:
        low, _, desired, _ = self.sizes(self.properties)
        return desired or low

    def handle_create(self, token):
        self._choose(self._initial_size())
        self.data["awaiting"] = list(self.data["members"])
        super().handle_create(token)
        # a fresh group is in cooldown for its own cooldown, as in Heat
        finish_scaling(self.data, self.ctx.clock(), self.sizes(self.properties)[3],
                       str(len(self.data["members"])), True)

    def handle_update(self, new_properties, changed, token):
        """desired_capacity if given, else the current size, within the new bounds; a changed
        `resource` updates the members in batches of rolling_updates.max_batch_size, in place
        where the member type allows, so they keep their names."""
        with self._latest():
            self.properties = new_properties
            low, high, wanted, cooldown = self.sizes(new_properties)
            size = self.current_size() if wanted is None else wanted
            size = max(low, min(high, size))
            self._choose(size)
            self._rolling = self.member_changed(changed)
            try:
                super().handle_update(new_properties, changed, token)
            finally:
                self._rolling = False
            finish_scaling(self.data, self.ctx.clock(), cooldown, str(size), True)

    @contextmanager
    def _latest(self, stored: dict | None = None, wait: bool = True) -> Iterator[bool]:
        """The group to itself: no resize, update or delete of it runs beside another in this
        process, and each starts from the members and cooldown the previous one left. With
        wait=False, False at once when one runs."""
        key = (self.ctx.stack_id, self.name, self.physical_id)
        with GUARD.holding(key, stored or self.data, wait) as state:
            if state is None:
                yield False
                return
            self.data.update(state)
            yield True
            state.update({k: self.data[k] for k in STATE_KEYS if k in self.data})

    def handle_delete(self, token):
        with self._latest():
            super().handle_delete(token)

    def adjust(self, adjustment: float, adjustment_type: str, min_step: int | None,
               cooldown: float | None, source: str) -> str:
        """A policy's signal: resize now, or say why not (the reason of the group's event)."""
        def row() -> dict:
            return self.ctx.finder.find_resource(self.ctx.stack_id, self.name) or {}
        with self._latest(row().get("data"), wait=False) as mine:
            if not mine:  # Heat drops a signal while the group scales or is updated
                return f"Scaling refused ({source}): a scaling of the group is already running"
            now = row()
            if now.get("status") != st.COMPLETE or not self.physical_id:
                return (f"Scaling refused ({source}): the group is "
                        f"{now.get('action')}_{now.get('status')}")
            return self._adjust(adjustment, adjustment_type, min_step, cooldown, source)

    def _adjust(self, adjustment, adjustment_type, min_step, cooldown, source) -> str:
        from metadata_server.engine.walker import CancelToken

        current = self.current_size()
        low, high, _, own_cooldown = self.sizes(self.properties)
        size = new_capacity(current, adjustment, adjustment_type, min_step, low, high)
        if size == current:
            return f"Scaling refused ({source}): no change in size ({current})"
        cooldown = own_cooldown if cooldown is None else cooldown
        # the opt-in replaces the fixed cooldown after a scaling that added members
        until_deployed = bool(self.properties.get("cooldown_until_deployed")
                              and self.data.get("awaiting"))
        why = self._deploying() if until_deployed else cooldown_refusal(self.data,
                                                                         self.ctx.clock())
        if why:
            return f"Scaling refused ({source}): {why}"
        what = f"{adjustment_type} : {adjustment:g}"
        self.data["scaling_in_progress"] = True
        self.checkpoint()
        changed, before = False, set(self.data.get("members") or [])
        try:
            self._choose(size)
            self.data["awaiting"] = [n for n in self.data["members"] if n not in before]
            self.ctx.children.update_child(self.physical_id, self._definition(),
                                           CancelToken(RESIZE_TIMEOUT))
            changed = True
        except Exception as exc:  # the nested stack shows the failure; the event says it too
            return f"Scaling from {current} to {size} failed ({source}, {what}): {exc}"
        finally:
            finish_scaling(self.data, self.ctx.clock(), cooldown, what, changed)
        return f"Scaled from {current} to {size} ({source}, {what})"

    def _deploying(self) -> str | None:
        """Why the opt-in cooldown still runs: deployments to the members the last scaling
        added (each member's reference is its server) that are not COMPLETE or FAILED."""
        members = set(self.data.get("members") or [])
        busy = []
        for name in [n for n in self.data.get("awaiting") or [] if n in members]:
            server = self._member_attr(name, None)
            if server and any(d.status == "IN_PROGRESS" for d in
                              self.ctx.store.list_deployments(self.ctx.tenant, server)):
                busy.append(name)
        if busy:
            return ("the members the last scaling added have deployments in progress: "
                    + ", ".join(busy[:10]) + (" ..." if len(busy) > 10 else ""))
        return None

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
