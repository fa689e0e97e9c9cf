"""Count the resources of a stack's whole tree before any of it is created.

Heat's max_resources_per_stack covers a top-level stack and every stack nested below it (provider
templates, groups, groups of provider templates holding groups). A group of 100 whose member
holds a group of 100 is 10,000 resources however small each template is, so the tree is counted
from the templates, before the stack is stored: each nested template is bound once, with the
parameters known before anything exists, and its count multiplied by the copies made of it
(a group's members are copies of one definition). Depth is checked on the way down.

What is not known yet (a group count from another resource's attribute) is counted when that
nested stack is created: `check_child` counts the tree as stored then, plus the new child's own
tree, so the limit holds either way.
"""
from __future__ import annotations

import json
from typing import Any, Callable

from metadata_server.engine.errors import RequestLimitExceeded, StackValidationFailed
from metadata_server.engine.limits import Limits, named
from metadata_server.engine.resources import resource_class
from metadata_server.engine.resources.groups import _Group
from metadata_server.engine.resources.nested import ChildStack, TemplateResource
from metadata_server.engine.template import StackIdentity, TemplateError
from metadata_server.engine.template.functions import NeedsResource
from metadata_server.service.errors import InvalidInput

Bind = Callable[..., Any]   # the engine's bind: its limits, its cache of parsed texts


class _Tally:
    def __init__(self, limits: Limits, start: int = 0):
        self.limits, self.total = limits, start
        self.complete = True   # False when some nested stack could not be counted yet

    def add(self, count: int, where: str) -> None:
        self.total += count
        if self.total > self.limits.max_resources_per_stack:
            raise RequestLimitExceeded(
                f"{where}: Maximum resources per stack exceeded: the stack and the stacks nested "
                f"in it would have more than {self.limits.max_resources_per_stack} resources "
                f"({named(self.limits, 'max_resources_per_stack')})")


def _depth_error(limits: Limits, where: str) -> RequestLimitExceeded:
    return RequestLimitExceeded(f"{where}: Recursion depth exceeds {limits.max_nested_depth}. "
                                f"({named(limits, 'max_nested_depth')})")


def _known_properties(bound, defn) -> dict:
    """The properties that need no resource; the others are left out (not known yet)."""
    raw = defn.properties if isinstance(defn.properties, dict) else {}
    known = {}
    for key, value in raw.items():
        try:
            known[key] = bound.resolve(value, None, ("resources", defn.name, "properties", key))
        except (NeedsResource, TemplateError):
            continue   # a bad value fails with its own error when the resource is created
    return known


def _where(bound, defn, trail: str, generated: bool) -> str:
    """`file:line:col: resources.name`, after the resources above it; a group's generated
    template has no file to point into, so its members are named only."""
    location = "" if generated else bound.template.error("", ("resources", defn.name),
                                                         key=True).location
    here = f"{location}: resources.{defn.name}" if location else f"resources.{defn.name}"
    return f"{trail} > {here}" if trail else here


def _children(bound, defn, definition: dict) -> tuple[int, dict] | None:
    """(copies, nested stack definition) below one resource; (0, {}) for none; None while it
    is not known yet."""
    cls = resource_class(defn.type, defn.provider_template)
    shared = {"files": definition.get("files") or {},
              "environment": definition.get("environment"),
              "environment_files": definition.get("environment_files") or []}
    if cls is TemplateResource:
        key = defn.provider_template
        if key not in shared["files"]:
            return 0, {}   # the resource fails with its own error when it is created
        params = TemplateResource.parameters_from(_known_properties(bound, defn))
        return 1, dict(shared, template=shared["files"][key], template_name=key,
                       parameters=params)
    if isinstance(cls, type) and issubclass(cls, _Group):
        properties = _known_properties(bound, defn)
        if len(properties) < len(defn.properties if isinstance(defn.properties, dict) else {}):
            return None   # e.g. a count from an attribute: a default must not stand in for it
        known = cls.member_count(properties)
        if known is None:
            return None
        count, member = known
        if count <= 0:
            return 0, {}
        template = {"heat_template_version": "2015-04-30", "resources": {"0": member}}
        return count, dict(shared, template=json.dumps(template),
                           template_name=f"{defn.name} (group)", parameters={}, generated=True)
    if isinstance(cls, type) and issubclass(cls, ChildStack):
        return None   # a kind of nested stack this count does not read yet
    return 0, {}   # a plain resource: nothing below it


def _count(bound, definition: dict, bind: Bind, limits: Limits, tally: _Tally, depth: int,
           copies: int, trail: str) -> None:
    for defn in bound.resource_definitions():
        where = _where(bound, defn, trail, bool(definition.get("generated")))
        tally.add(copies, where)
        try:
            below = _children(bound, defn, definition)
        except (StackValidationFailed, InvalidInput):
            continue   # an unknown type: validation says so with its own message
        if below is None:
            tally.complete = False
            continue
        if below[0] == 0:
            continue
        if depth + 1 > limits.max_nested_depth:
            raise _depth_error(limits, where)
        count, child = below
        try:
            child_bound = bind(child, StackIdentity("", "", bound.identity.project_id),
                               child_of=defn.name, strict=False)
        except StackValidationFailed as exc:
            if getattr(exc, "error_type", "") == "RequestLimitExceeded":
                raise RequestLimitExceeded(f"{where}: {exc.message}") from None
            tally.complete = False   # it fails with its own error when it is created
            continue
        _count(child_bound, child, bind, limits, tally, depth + 1, copies * count, where)


def check_tree(bound, definition: dict, bind: Bind, limits: Limits, *, depth: int = 0,
               already: int = 0, trail: str = "") -> bool:
    """Raise RequestLimitExceeded when the tree below `bound` (a stack at `depth`, in a tree
    that already has `already` resources elsewhere) breaks a limit; else say whether all of
    it could be counted."""
    tally = _Tally(limits, already)
    _count(bound, definition, bind, limits, tally, depth, 1, trail)
    return tally.complete
