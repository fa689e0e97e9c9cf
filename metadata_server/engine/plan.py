"""The update plan, computed purely before anything is touched (preview and dry-run print it).

Heat's rule per resource, from definitions alone: new name -> added; gone -> deleted; FAILED,
never created, or a changed type -> replaced; an unchanged definition -> unchanged (unless
something it references is replaced: then its properties change too); otherwise the changed
properties decide: any that is not update_allowed -> replaced, else updated in place. The run
decides again with resolved values, which can only find fewer changes than this plan.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from metadata_server.engine.graph import Graph
from metadata_server.engine.resources import Resource

ADDED, UPDATED, REPLACED, DELETED, UNCHANGED = "added", "updated", "replaced", "deleted", "unchanged"


@dataclass
class Plan:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, list[str]]:
        return {k: list(getattr(self, k)) for k in (UNCHANGED, UPDATED, REPLACED, ADDED, DELETED)}


def changed_keys(old: Any, new: Any) -> set[str]:
    old, new = old or {}, new or {}
    if not isinstance(old, dict) or not isinstance(new, dict):
        return {"*"} if old != new else set()
    return {k for k in set(old) | set(new) if old.get(k) != new.get(k)}


def _refers_to(value: Any, names: set[str]) -> bool:
    if isinstance(value, dict):
        if len(value) == 1:
            (fn, args), = value.items()
            if fn == "get_resource" and args in names:
                return True
            if fn == "get_attr" and isinstance(args, list) and args and args[0] in names:
                return True
        return any(_refers_to(v, names) for v in value.values())
    if isinstance(value, list):
        return any(_refers_to(v, names) for v in value)
    return False


def decide(old_row: dict | None, new: dict, cls: type[Resource],
           replaced_upstream: set[str] = frozenset()) -> tuple[str, set[str]]:
    """(added|updated|replaced|unchanged, changed property names) for one resource."""
    if old_row is None:
        return ADDED, set()
    if (old_row["status"] == "FAILED" or old_row["action"] == "INIT"
            or (old_row["action"] == "DELETE" and old_row["status"] == "COMPLETE")
            or old_row["type"] != new["type"]):
        return REPLACED, set()
    old = old_row.get("definition") or {}
    changed = changed_keys(old.get("properties"), new.get("properties"))
    props = new.get("properties") or {}
    if isinstance(props, dict):
        changed |= {k for k, v in props.items() if _refers_to(v, set(replaced_upstream))}
    if not changed and old == new:
        return UNCHANGED, set()
    if "*" in changed or cls.replace_on(changed):
        return REPLACED, changed
    return UPDATED, changed


def plan_update(old_rows: Mapping[str, dict], new_definitions: Mapping[str, dict], graph: Graph,
                class_of: Callable[[dict], type[Resource]]) -> Plan:
    plan = Plan()
    replaced: set[str] = set()
    # dependency order, so a replacement upstream is known when its dependants are decided
    from graphlib import TopologicalSorter
    for name in TopologicalSorter(graph.as_mapping()).static_order():
        verdict, _ = decide(old_rows.get(name), new_definitions[name],
                            class_of(new_definitions[name]), replaced)
        getattr(plan, verdict).append(name)
        if verdict == REPLACED:
            replaced.add(name)
    plan.deleted = [name for name in old_rows if name not in new_definitions]
    return plan
