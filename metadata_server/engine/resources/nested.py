"""Provider templates: a resource whose type is a template becomes a nested stack.

Properties become the child's parameters, attributes come from the child's outputs, and the
reference id is the child's `OS::stack_id` output when it has one, else the child stack's id.
Every property is update_allowed, so a change updates the nested stack in place.
"""
from __future__ import annotations

from metadata_server.engine.errors import StackValidationFailed
from metadata_server.engine.resources.base import Resource


class ChildStack:
    """What every resource backed by a nested stack does the same way (mixed into Resource)."""

    adoptable = False  # adopting would need the nested stack's own abandon data

    def handle_delete(self, token):
        if self.physical_id:
            self.ctx.children.delete_child(self.physical_id, token)

    def handle_suspend(self, token):
        if self.physical_id:
            self.ctx.children.suspend_child(self.physical_id, "SUSPEND", token)

    def handle_resume(self, token):
        if self.physical_id:
            self.ctx.children.suspend_child(self.physical_id, "RESUME", token)

    # The nested stack's action is this resource's step; an engine restart interrupts both.
    # Continuing resumes the nested stack's own operation, in which its interrupted resources
    # (a group's deployments) continue in turn rather than run again.
    def can_continue(self, step):
        return bool(self.physical_id) and self.ctx.children.child_can_continue(self.physical_id,
                                                                                step)

    def continue_interrupted(self, step, token):
        self.ctx.children.continue_child(self.physical_id, token)


class TemplateResource(ChildStack, Resource):
    type_name = "OS::Heat::TemplateResource"
    accepts_any_properties = True
    attributes_schema = None

    def _child_definition(self) -> dict:
        parent = self.ctx.definition or {}
        files = parent.get("files") or {}
        key = self.definition.provider_template if self.definition is not None else None
        if key is None:
            key = self.data.get("provider_template")
        if key not in files:
            raise StackValidationFailed(
                f"Could not fetch remote template \"{key}\": it is not in the stack's files "
                "(send it in `files`, as python-heatclient does)", f"resources.{self.name}.type")
        self.data["provider_template"] = key
        return {"template": files[key], "template_name": key, "files": files,
                "environment": parent.get("environment"),
                "environment_files": parent.get("environment_files") or [],
                "parameters": self._parameters()}

    def _parameters(self) -> dict:
        return self.parameters_from(self.properties)

    @staticmethod
    def parameters_from(properties: dict) -> dict:
        """The nested stack's parameters: the resource's properties, lists as Heat passes them."""
        params = {}
        for key, value in properties.items():
            if value is None:
                continue
            if isinstance(value, list) and all(not isinstance(v, (dict, list)) for v in value):
                value = ",".join(str(v) for v in value)  # Heat's comma_delimited_list form
            params[key] = value
        return params

    def handle_create(self, token):
        definition = self._child_definition()
        self.physical_id = self.ctx.children.create_child(self.ctx, self.name, definition)
        self.checkpoint()
        self.ctx.children.run_child_create(self.physical_id, token)

    def handle_update(self, new_properties, changed, token):
        self.properties = new_properties
        self.ctx.children.update_child(self.physical_id, self._child_definition(), token)

    def _outputs(self) -> dict:
        return self.ctx.children.child_outputs(self.physical_id) if self.physical_id else {}

    def reference_id(self):
        outputs = self._outputs()
        if outputs.get("OS::stack_id") is not None:
            return outputs["OS::stack_id"]
        return self.physical_id or self.name

    def attribute(self, name):
        if name == "show":
            return {"id": self.physical_id}
        return self._outputs().get(name)
