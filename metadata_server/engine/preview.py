"""Preview, update preview and template validate: computed purely, nothing stored or touched."""
from __future__ import annotations

from metadata_server.engine import status as st
from metadata_server.engine.definition import definition_from_body, stack_name, stack_options
from metadata_server.engine.loader import bind_definition, describe
from metadata_server.engine.plan import plan_update
from metadata_server.engine.resources import resource_class
from metadata_server.engine.state import snapshot
from metadata_server.engine.template import StackIdentity


class Previews:
    """Mixed into Engine."""

    def preview_stack(self, tenant: str, body: dict) -> dict:
        name = stack_name(body)
        definition = definition_from_body(body)
        options = stack_options(body)
        stack = {"id": "None", "tenant": tenant, "name": name, "definition": definition}
        bound = bind_definition(definition, self._identity(stack))
        self._validate(bound)
        resources = [{"resource_name": d.name, "resource_type": d.type,
                      "resource_action": st.INIT, "resource_status": st.COMPLETE,
                      "resource_identity": {"stack_name": name, "stack_id": "None",
                                            "tenant": tenant, "path": f"/resources/{d.name}"},
                      "properties": bound.mask(d.properties), "metadata": d.metadata or {},
                      "required_by": []}
                     for d in bound.resource_definitions()]
        return {"stack": {"stack_name": name, "id": "None",
                          "description": getattr(bound.template, "description", ""),
                          "parameters": {}, "resources": resources, **options}}

    def preview_update(self, tenant: str, name_or_id: str, body: dict, patch: bool = False) -> dict:
        stack = self.get_stack(tenant, name_or_id)
        definition = definition_from_body(body, stack["definition"], patch)
        bound = bind_definition(definition, self._identity(stack))
        graph = self._validate(bound)
        rows = {r["name"]: r for r in self.resources(stack)}
        new = {d.name: snapshot(d) for d in bound.resource_definitions()}
        defs = {d.name: d for d in bound.resource_definitions()}
        plan = plan_update(rows, new, graph, lambda s: resource_class(
            s["type"], s.get("provider_template")))

        def describe_one(name):
            row = rows.get(name)
            return {"resource_name": name,
                    "resource_type": (defs[name].type if name in defs else row["type"]),
                    "resource_action": row["action"] if row else st.INIT,
                    "resource_status": row["status"] if row else st.COMPLETE,
                    "physical_resource_id": (row or {}).get("physical_id") or ""}
        return {"resource_changes": {k: [describe_one(n) for n in v]
                                     for k, v in plan.as_dict().items()}}

    def validate(self, body: dict) -> dict:
        definition = definition_from_body(body)
        result = describe(definition)
        bound = bind_definition(definition, StackIdentity("validate", "validate"), strict=False)
        self._validate(bound)
        return result

