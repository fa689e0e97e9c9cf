"""Preview, update preview and template validate: computed purely, nothing stored or touched."""
from __future__ import annotations

from typing import TYPE_CHECKING

from metadata_server.engine import status as st
from metadata_server.engine.definition import definition_from_body, stack_name, stack_options
from metadata_server.engine.loader import describe
from metadata_server.engine.plan import (KINDS, Plan, plan_update, property_changes,
                                         resource_snapshot)
from metadata_server.engine.resources import resource_class
from metadata_server.engine.template import StackIdentity
from metadata_server.engine.validation import validate

if TYPE_CHECKING:  # pragma: no cover
    from metadata_server.engine.limits import Limits
    from metadata_server.engine.reads import StackReads
    from metadata_server.engine.runtimes import RuntimeFactory


class Previews:
    def __init__(self, runtimes: RuntimeFactory, reads: StackReads, limits: Limits):
        self.runtimes, self.reads, self.limits = runtimes, reads, limits

    def preview_stack(self, tenant: str, body: dict) -> dict:
        name = stack_name(body)
        definition = definition_from_body(body)
        options = stack_options(body)
        stack = {"id": "None", "tenant": tenant, "name": name, "definition": definition}
        bound = self.runtimes.bind(definition, self.runtimes.identity(stack))
        graph = validate(bound)
        resources = [{"resource_name": d.name, "resource_type": d.type,
                      "resource_action": st.INIT, "resource_status": st.COMPLETE,
                      "resource_identity": {"stack_name": name, "stack_id": "None",
                                            "tenant": tenant, "path": f"/resources/{d.name}"},
                      "properties": bound.mask(d.properties), "metadata": d.metadata or {},
                      "required_by": sorted(graph.required_by(d.name))}
                     for d in bound.resource_definitions()]
        return {"stack": {"stack_name": name, "id": "None",
                          "description": getattr(bound.template, "description", ""),
                          "parameters": {}, "resources": resources, **options}}

    def update_plan(self, stack: dict, definition: dict) -> tuple[Plan, object, object, dict]:
        """The plan for updating `stack` to `definition`: (plan, old bound, new bound, rows).
        The update runs this same plan (operations.py); nothing is stored or touched."""
        identity = self.runtimes.identity(stack)
        child_of = stack.get("parent_resource") if stack.get("parent_id") else None
        bound = self.runtimes.bind(definition, identity, child_of=child_of)
        graph = validate(bound)
        try:
            old_bound = self.runtimes.bind(stack["definition"], identity, child_of=child_of)
        except Exception:  # noqa: BLE001 - an old definition that no longer binds: raw compare
            old_bound = None
        rows = {r["name"]: r for r in self.reads.resources(stack)}
        plan = plan_update(rows, old_bound, bound, graph,
                           lambda d: resource_snapshot(d, definition.get("files")),
                           lambda s: resource_class(s["type"], s.get("provider_template")))
        return plan, old_bound, bound, rows

    def preview_update(self, tenant: str, name_or_id: str, body: dict, patch: bool = False) -> dict:
        stack = self.reads.get_stack(tenant, name_or_id)
        definition = definition_from_body(body, stack["definition"], patch)
        plan, old_bound, bound, rows = self.update_plan(stack, definition)
        masks = [b.mask for b in (old_bound, bound) if b is not None]

        def mask(value):
            for one in masks:
                value = one(value)
            return value

        def describe_one(entry):
            row = rows.get(entry.name)
            return {"resource_name": entry.name, "resource_type": entry.type,
                    "resource_action": row["action"] if row else st.INIT,
                    "resource_status": row["status"] if row else st.COMPLETE,
                    "physical_resource_id": (row or {}).get("physical_id") or "",
                    "required_by": entry.required_by, "reasons": entry.reasons,
                    "changes": property_changes(entry, mask)}
        return {"resource_changes": {k: [describe_one(plan.entries[n]) for n in plan.names(k)]
                                     for k in KINDS}}

    def validate(self, body: dict) -> dict:
        definition = definition_from_body(body)
        result = describe(definition, self.limits)
        bound = self.runtimes.bind(definition, StackIdentity("validate", "validate"), strict=False)
        validate(bound)
        if bound.warnings:   # misspelt functions kept as data: Heat is silent, the CLI shows them
            result["Warnings"] = list(bound.warnings)
        return result

