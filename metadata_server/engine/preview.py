"""Preview, update preview and template validate: computed purely, nothing stored or touched."""
from __future__ import annotations

from metadata_server.engine import status as st
from metadata_server.engine.definition import definition_from_body, stack_name, stack_options
from metadata_server.engine.loader import describe
from metadata_server.engine.plan import plan_update
from metadata_server.engine.resources import resource_class
from metadata_server.engine.state import snapshot
from metadata_server.engine.template import StackIdentity


class _Placeholders:
    """A ResolveContext for plans: references become stable placeholders, so that resolving
    shows what parameters change while resources stay unresolved."""

    def resource_id(self, name):
        return f"<resource {name}>"

    def attribute(self, name, attr, path):
        return f"<attribute {name}.{attr}{''.join(f'.{p}' for p in path)}>"

    def resource_facade(self, section):
        return f"<facade {section}>"


def _probed(bound, name: str, raw: dict) -> dict:
    """The definition snapshot with parameters resolved (the raw one if it cannot be)."""
    try:
        return dict(raw, properties=bound.resolve_properties(name, _Placeholders()))
    except Exception:  # noqa: BLE001 - a value only the run can compute: compare it raw
        return raw


class Previews:
    """Mixed into Engine."""

    def preview_stack(self, tenant: str, body: dict) -> dict:
        name = stack_name(body)
        definition = definition_from_body(body)
        options = stack_options(body)
        stack = {"id": "None", "tenant": tenant, "name": name, "definition": definition}
        bound = self.bind(definition, self._identity(stack))
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
        bound = self.bind(definition, self._identity(stack))
        graph = self._validate(bound)
        rows = {r["name"]: r for r in self.resources(stack)}
        # compare with parameters resolved on both sides: a new parameter value under an
        # unchanged get_param is a change
        old_bound = self.bind(stack["definition"], self._identity(stack))
        for name, row in rows.items():
            if row.get("definition") and old_bound.is_enabled(name):
                rows[name] = dict(row, definition=_probed(old_bound, name, row["definition"]))
        new = {d.name: _probed(bound, d.name, snapshot(d)) for d in bound.resource_definitions()}
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
        result = describe(definition, self.limits)
        bound = self.bind(definition, StackIdentity("validate", "validate"), strict=False)
        self._validate(bound)
        return result

