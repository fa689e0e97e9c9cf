"""The update plan: one pure function that the update preview prints and the update runs.

Heat's rule per resource: a new name is added, a gone one deleted; a FAILED or never-created
resource, or one whose type changed, is replaced; otherwise its properties are compared after
parameters are resolved: a change to any property that is not update_allowed replaces it, any
other change updates it in place, and a change only to metadata, update_policy or
deletion_policy updates it in place without touching the physical resource.

`classify` is that rule for one resource and is what the update itself runs with real values
(operations.py); `plan_update` runs it over the whole stack before anything is touched, with
references resolved to placeholders, so that a reference to a resource the plan replaces counts
as a change (its id will be new) and one to a kept resource does not. What only the run can
know stays outside the plan: an attribute value that an in-place update changes, and a plugin
that asks to be replaced while updating (a deployment input marked replace_on_change).
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from graphlib import TopologicalSorter
from typing import Any, Callable, Mapping

from metadata_server.engine.graph import Graph
from metadata_server.engine.resources import Resource, resource_class
from metadata_server.engine.resources.nested import ChildStack
from metadata_server.engine.state import snapshot
from metadata_server.engine.template.functions import select_path

ADDED, UPDATED, REPLACED, DELETED, UNCHANGED = "added", "updated", "replaced", "deleted", "unchanged"
KINDS = (UNCHANGED, UPDATED, REPLACED, ADDED, DELETED)  # Heat's order of resource_changes
# definition parts besides properties whose change is an update in place of the record only
_OTHER_PARTS = ("metadata", "update_policy", "deletion_policy", "provider_template")
FILES = "files_digest"  # a nested stack's template may come from the stack's files
MASK = "******"
# property names whose values a plan never shows, whatever their origin
_SECRET_WORDS = ("pass", "secret", "private_key", "token", "credential")


@dataclass
class Entry:
    """What the plan does with one resource, and why."""
    name: str
    kind: str
    type: str
    reasons: list[str] = field(default_factory=list)
    changed: set[str] = field(default_factory=set)
    required_by: list[str] = field(default_factory=list)
    # the two sides compared: template values with parameters resolved and references as
    # placeholders, never a value a resource produced (which may be a secret)
    old_properties: Any = None
    new_properties: Any = None


@dataclass
class Plan:
    entries: dict[str, Entry] = field(default_factory=dict)

    def names(self, kind: str) -> list[str]:
        return [n for n, e in self.entries.items() if e.kind == kind]

    def kind_of(self, name: str) -> str | None:
        entry = self.entries.get(name)
        return entry.kind if entry else None

    def as_dict(self) -> dict[str, list[str]]:
        return {k: self.names(k) for k in KINDS}


def changed_keys(old: Any, new: Any) -> set[str]:
    old, new = old or {}, new or {}
    if not isinstance(old, dict) or not isinstance(new, dict):
        return {"*"} if old != new else set()
    return {k for k in set(old) | set(new) if old.get(k) != new.get(k)}


def classify(old_row: dict | None, new_snapshot: dict, cls: type[Resource],
             old_properties: Any, new_properties: Any) -> tuple[str, set[str], list[str]]:
    """(kind, changed property names, reasons) for one resource whose old row is `old_row`.

    The properties are compared as given: real resolved values in the run, placeholders
    (see `Placeholders`) in the plan; both sides must be resolved the same way."""
    if old_row is None:
        return ADDED, set(), ["not in the old template"]
    if old_row["status"] == "FAILED":
        return REPLACED, set(), [f"{old_row['action']} FAILED before"]
    if old_row["action"] == "INIT" or (old_row["action"] == "DELETE"
                                       and old_row["status"] == "COMPLETE"):
        return REPLACED, set(), ["never created"]
    if old_row["type"] != new_snapshot["type"]:
        return REPLACED, set(), [f"type changes from {old_row['type']} to {new_snapshot['type']}"]
    changed = changed_keys(old_properties, new_properties)
    if "*" in changed or cls.replace_on(changed):
        fixed = sorted(k for k in changed if k == "*" or k not in cls.properties_schema
                       or not cls.properties_schema[k].update_allowed)
        return REPLACED, changed, [f"property {k} cannot be updated in place" for k in fixed]
    if changed:
        return UPDATED, changed, [f"property {k} changes" for k in sorted(changed)]
    old_definition = old_row.get("definition") or {}
    parts = [p for p in _OTHER_PARTS if (old_definition.get(p) or None) != (new_snapshot.get(p) or None)]
    if parts:
        return UPDATED, set(), [f"{p} changes" for p in parts]
    if old_definition.get(FILES) != new_snapshot.get(FILES):
        return UPDATED, set(), ["the stack's files change: its nested stack is updated"]
    return UNCHANGED, set(), []


def needs_plugin(old_row: dict, new_snapshot: dict, changed: set[str]) -> bool:
    """Whether an in-place update calls the plugin (properties or a nested template change)
    rather than only recording the new definition (metadata or policies)."""
    return bool(changed) or (old_row.get("definition") or {}).get(FILES) != new_snapshot.get(FILES)


def resource_snapshot(defn, files: Any) -> dict:
    """The parts of a resource definition whose change means the resource changed; for a
    resource backed by a nested stack, also a digest of the stack's files, since its template
    (or one its template gets) may be one of them."""
    snap = snapshot(defn)
    try:
        nested = issubclass(resource_class(defn.type, defn.provider_template), ChildStack)
    except Exception:  # noqa: BLE001 - an unknown type fails later, where it is reported
        nested = False
    if nested:
        snap[FILES] = files_digest(files)
    return snap


_DIGESTS: dict[int, tuple[Any, str]] = {}
_DIGESTS_KEPT = 32


def files_digest(files: Any) -> str:
    """A digest of a stack's files map, computed once per map object: every nested resource
    of a stack (a large group) shares its stack's map, which may be megabytes."""
    cached = _DIGESTS.get(id(files))
    if cached is not None and cached[0] is files:
        return cached[1]
    text = json.dumps(files or {}, sort_keys=True, default=str)
    digest = hashlib.sha256(text.encode()).hexdigest()
    if len(_DIGESTS) >= _DIGESTS_KEPT:
        _DIGESTS.clear()
    _DIGESTS[id(files)] = (files, digest)
    return digest


class Placeholders:
    """A ResolveContext for plans: references resolve to stable placeholders, so that parameter
    changes show while kept resources compare equal; a resource the plan replaces gets a
    different placeholder, since its id and attributes will be new. An attribute that is a
    property's value (`attributes_from_properties`) resolves to that planned value."""

    def __init__(self, replaced: set[str] = frozenset()):
        self.replaced = replaced
        self.known: dict[str, tuple[type[Resource], dict]] = {}  # name -> planned properties

    def _tag(self, name: str) -> str:
        return "new resource" if name in self.replaced else "resource"

    def resource_id(self, name):
        return f"<{self._tag(name)} {name}>"

    def attribute(self, name, attr, path):
        cls, properties = self.known.get(name, (Resource, {}))
        if attr in cls.attributes_from_properties:
            return select_path(properties.get(cls.attributes_from_properties[attr]), path)
        return f"<attribute of {self._tag(name)} {name}: {attr}{''.join(f'.{p}' for p in path)}>"

    def resource_facade(self, section):
        return f"<facade {section}>"


def planned_properties(bound, name: str, cls: type[Resource], ctx: Placeholders) -> Any:
    """The properties as the run will compare them (defaults applied), with placeholders; None
    when they cannot be resolved before the run (e.g. a placeholder where a list is needed)."""
    try:
        resolved = bound.resolve_properties(name, ctx)
    except Exception:  # noqa: BLE001 - a value only the run can compute
        return None
    try:
        return cls.validate_properties(name, resolved)
    except Exception:  # noqa: BLE001 - the run reports invalid values; the plan compares them
        return resolved


def plan_update(old_rows: Mapping[str, dict], old_bound, new_bound, graph: Graph,
                snapshot_of: Callable[[Any], dict],
                class_of: Callable[[dict], type[Resource]]) -> Plan:
    """The plan for updating a stack whose current rows are `old_rows` (by name), bound to its
    stored definition as `old_bound` (None when that no longer binds), to `new_bound`."""
    plan = Plan()
    definitions = {d.name: d for d in new_bound.resource_definitions()}
    replaced: set[str] = set()
    new_ctx, old_ctx = Placeholders(replaced), Placeholders()
    # dependency order: a replacement upstream is known when its dependants are decided
    for name in TopologicalSorter(graph.as_mapping()).static_order():
        defn = definitions[name]
        snap = snapshot_of(defn)
        cls = class_of(snap)
        row = old_rows.get(name)
        new_props = planned_properties(new_bound, name, cls, new_ctx)
        old_props = None
        if row is not None and old_bound is not None and old_bound.is_enabled(name):
            old_props = planned_properties(old_bound, name, cls, old_ctx)
        if row is not None and (old_props is None or new_props is None):
            # one side cannot be resolved before the run: compare the template trees
            old_props = (row.get("definition") or {}).get("properties")
            new_props = _marked(defn.properties, replaced)
        else:
            if isinstance(new_props, dict):
                new_ctx.known[name] = (cls, new_props)
            if isinstance(old_props, dict) and row is not None and row["type"] == defn.type:
                old_ctx.known[name] = (cls, old_props)
        kind, changed, reasons = classify(row, snap, cls, old_props, new_props)
        plan.entries[name] = Entry(name, kind, defn.type, reasons, changed,
                                   sorted(graph.required_by(name)), old_props, new_props)
        if kind == REPLACED:
            replaced.add(name)
    for name, row in old_rows.items():
        if name not in definitions:
            plan.entries[name] = Entry(name, DELETED, row["type"], ["not in the new template"])
    return plan


def _marked(properties: Any, replaced: set[str]) -> Any:
    """Raw properties with each one that references a replaced resource marked as changed."""
    if not isinstance(properties, dict):
        return properties
    return {k: ({"replaced reference": v} if _refers_to(v, replaced) else v)
            for k, v in properties.items()}


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


def property_changes(entry: Entry, mask: Callable[[Any], Any]) -> dict[str, dict[str, Any]]:
    """{property: {"old": ..., "new": ...}} for the entry's changed properties, hidden
    parameter values masked by `mask` and secret-looking properties never shown."""
    old_properties = entry.old_properties if isinstance(entry.old_properties, dict) else {}
    new_properties = entry.new_properties if isinstance(entry.new_properties, dict) else {}
    out = {}
    for key in sorted(k for k in entry.changed if k != "*"):
        if any(word in key.lower() for word in _SECRET_WORDS):
            out[key] = {"old": MASK, "new": MASK}
        else:
            out[key] = {"old": mask(old_properties.get(key)), "new": mask(new_properties.get(key))}
    return out
