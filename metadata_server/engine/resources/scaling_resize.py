"""What a scaling group does when a policy's signal resizes it, and the claim that keeps one
resize, stack update or delete of a group at a time, whichever engine of whichever node runs it.

The claim is the group's nested stack marked IN_PROGRESS in the database (a compare-and-swap on
its status, the stack operation lock), so it holds across processes and nodes; the group's data
as stored is what each claimer starts from. A resize writes what it is going to do before it
touches the nested stack, so an engine that takes over after a crash continues it
(`continue_resize`) and the group's members and its nested stack agree again.
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from metadata_server.engine import status as st
from metadata_server.engine.resources.scaling_capacity import (cooldown_refusal, finish_scaling,
                                                               new_capacity)

# a resize runs outside any stack operation (a signal starts it): this bounds its wait
RESIZE_TIMEOUT = 3600.0
# what a resize, an update and a restart change in the group's data: read from the store when
# one of them claims the group, since the previous one may have run on another engine
STATE_KEYS = ("members", "cooldown_end", "awaiting", "older", "outdated", "rolling_target",
              "paused_until", "resizing", "member")


class GroupResize:
    """Mixed into AutoScalingGroup (scaling_group.py), which gives it the members, sizes and
    nested stack of the group."""

    @contextmanager
    def _latest(self, token=None) -> Iterator[bool]:
        """Claim the group's nested stack in the database (its operation lock: one resize,
        update or delete of the group at a time, whichever engine of whichever node runs it),
        then take the group's scaling state as stored, which the previous holder left. Without
        a token, False at once when another holds it; with one, wait for it."""
        if not self.physical_id:
            yield True
            return
        children = self.ctx.children
        claim = children.claim_child(self.physical_id)
        while claim is None and token is not None:
            token.wait(max(0.01, self.ctx.poll_interval))
            token.check()
            claim = children.claim_child(self.physical_id)
        if claim is None:
            yield False
            return
        self._claim = claim
        stored = (self.ctx.finder.find_resource(self.ctx.stack_id, self.name) or {}).get("data")
        for key in STATE_KEYS if stored else ():
            if key in stored:
                self.data[key] = stored[key]
            else:
                self.data.pop(key, None)
        # what a resize that ended before its last write left: its members and cooldown are in
        self.data.pop("resizing", None)
        try:
            yield True
        finally:
            if self._claim is not None:  # no update of the nested stack used it
                children.release_child(self.physical_id, self._claim)
                self._claim = None

    _claim = None

    def _update_members(self, token) -> None:
        """The nested stack to the members; the first update under _latest uses its claim."""
        self._check_size()
        self.data["member"] = self.member_definition()  # what the members are made from now
        claim, self._claim = self._claim, None
        self.ctx.children.update_child(self.physical_id, self._definition(), token,
                                       claimed=claim)

    def adjust(self, adjustment: float, adjustment_type: str, min_step: int | None,
               cooldown: float | None, source: str) -> str:
        """A policy's signal: resize now, or say why not (the reason of the group's event)."""
        with self._latest() as mine:
            if not mine:  # Heat drops a signal while the group scales or is updated
                return f"Scaling refused ({source}): a scaling of the group is already running"
            now = self.ctx.finder.find_resource(self.ctx.stack_id, self.name) or {}
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
        previous_end, before = self.data.get("cooldown_end"), set(self.data.get("members") or [])
        self._choose(size)
        self.data["awaiting"] = [n for n in self.data["members"] if n not in before]
        # written before the nested stack changes: the members the group will have, a cooldown
        # (so nothing in between sees the old state), and what a restart must finish
        self.data["resizing"] = {"from": current, "to": size, "what": what, "source": source,
                                 "cooldown": cooldown, "previous_end": previous_end}
        finish_scaling(self.data, self.ctx.clock(), cooldown, what, True)
        self.checkpoint()
        try:
            self._update_members(CancelToken(RESIZE_TIMEOUT))
        except Exception as exc:  # the nested stack shows the failure; the event says it too
            self._resized(previous_end, False)
            return f"Scaling from {current} to {size} failed ({source}, {what}): {exc}"
        self._resized(previous_end, True)
        return f"Scaled from {current} to {size} ({source}, {what})"

    def _resized(self, previous_end, changed: bool) -> None:
        """A resize ended: its cooldown counts from now, as in Heat, and a failed one starts
        none (the end before it stays)."""
        resizing = self.data.pop("resizing", None) or {}
        if changed:
            finish_scaling(self.data, self.ctx.clock(), resizing.get("cooldown"),
                           resizing.get("what", ""), True)
        elif previous_end:
            self.data["cooldown_end"] = previous_end
        else:
            self.data.pop("cooldown_end", None)
        self.checkpoint()

    def continue_resize(self, token) -> str | None:
        """An engine restart interrupted this group's resize: finish its nested stack's update
        (interrupted members continue, as in any resumed operation), then bring the nested
        stack to the members the resize had recorded, so the group's size and its members
        agree. The reason of the group's event; None when no resize of the group was running."""
        from metadata_server.engine.walker import CancelToken

        resizing = self.data.get("resizing")
        if not resizing or not self.physical_id:
            return None
        token = token or CancelToken(RESIZE_TIMEOUT)
        what = (f"Scaling from {resizing['from']} to {resizing['to']} ({resizing['source']}, "
                f"{resizing['what']})")
        try:
            self.ctx.children.continue_child(self.physical_id, token)
            with self._latest(token):
                self.data["resizing"] = resizing
                self._update_members(token)
        except Exception as exc:
            self._resized(resizing.get("previous_end"), False)
            return f"{what} failed after an engine restart: {exc}"
        self._resized(None, True)
        return f"{what} continued after an engine restart"

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
