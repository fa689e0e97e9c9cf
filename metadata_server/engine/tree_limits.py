"""Limits on a tenant's stacks and on a tree of nested stacks, checked before anything is stored:
max_stacks_per_tenant, and the resources and depth of the whole tree (stack_tree.py counts it).

A top-level stack whose whole tree could be counted before it was stored is remembered, so its
nested stacks skip the count; otherwise each nested stack counts what is stored in the tree so
far, plus what it would add.
"""
from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Callable

from metadata_server.engine.errors import RequestLimitExceeded
from metadata_server.engine.limits import named
from metadata_server.engine.stack_tree import check_tree

if TYPE_CHECKING:  # pragma: no cover
    from metadata_server.engine.limits import Limits
    from metadata_server.engine.state import StackRuntime
    from metadata_server.engine.store_seam import EngineStore


class TreeLimits:
    def __init__(self, stacks: EngineStore, limits: Limits, bind: Callable):
        self.stacks, self.limits, self.bind = stacks, limits, bind
        self._lock = threading.Lock()
        self._counted: set[str] = set()   # top-level stacks whose whole tree was counted

    def check_stack_quota(self, tenant: str) -> None:
        """Heat's max_stacks_per_tenant: top-level stacks not deleted."""
        limit = self.limits.max_stacks_per_tenant
        if self.stacks.count_stacks(tenant) >= limit:
            raise RequestLimitExceeded(
                f"You have reached the maximum stacks per tenant, {limit}. Please delete some "
                f"stacks. ({named(self.limits, 'max_stacks_per_tenant')})")

    def check_tree(self, rt: StackRuntime) -> None:
        """Before a top-level stack is stored (create or update): the whole tree of nested
        stacks it would make stays within the resource and depth limits."""
        complete = check_tree(rt.bound, rt.stack["definition"], self.bind, self.limits)
        with self._lock:
            (self._counted.add if complete else self._counted.discard)(rt.stack["id"])

    def check_child(self, parent_id: str, where: str, rt: StackRuntime,
                    replacing: str | None = None) -> None:
        """A nested stack about to be created below `parent_id` (or `replacing` one about to be
        updated): what could not be counted before the top-level stack was stored (a group
        count from an attribute) is counted now, against the rest of the stored tree."""
        depth, root_id = self._root(parent_id)
        if depth + 1 > self.limits.max_nested_depth:
            raise RequestLimitExceeded(
                f"{where}: Recursion depth exceeds {self.limits.max_nested_depth}. "
                f"({named(self.limits, 'max_nested_depth')})")
        with self._lock:
            counted = root_id in self._counted
        if counted:   # counting the stored tree costs queries: only when it is needed
            return
        elsewhere = self._stored(root_id) - (self._stored(replacing) if replacing else 0)
        check_tree(rt.bound, rt.stack["definition"], self.bind, self.limits,
                   depth=depth + 1, already=elsewhere, trail=where)

    def _root(self, stack_id: str) -> tuple[int, str | None]:
        """(depth of the stack, id of its top-level stack)."""
        depth, row = 0, self.stacks.get_stack(stack_id)
        while row is not None and row.get("parent_id"):
            depth += 1
            row = self.stacks.get_stack(row["parent_id"])
        return depth, row["id"] if row is not None else None

    def _stored(self, root_id: str | None) -> int:
        """Resources stored in the whole tree below a top-level stack."""
        count, queue = 0, [root_id] if root_id is not None else []
        while queue:
            current = queue.pop()
            count += sum(1 for r in self.stacks.resources(current) if not r.get("replaced_by"))
            queue.extend(child["id"] for child in self.stacks.children(current))
        return count
