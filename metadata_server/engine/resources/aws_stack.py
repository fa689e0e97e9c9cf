"""AWS::CloudFormation::Stack: a nested stack from `TemplateURL`, through the provider-template
machinery of nested.py.

The template is read from the stack's `files` under the TemplateURL as its key, as a provider
template or get_file is: stoker never fetches a URL (the client sends the files; Heat would
fetch a TemplateURL itself, docs/cfn.md says what that means for python-heatclient). `Parameters` become the child's
parameters, `Outputs.<name>` reads the child's output, and the Ref is the child stack's ARN, as
Heat answers. `TimeoutInMinutes` bounds the nested stack's create and update within the parent
operation's own deadline.
"""
from __future__ import annotations

from metadata_server.engine.errors import StackValidationFailed
from metadata_server.engine.resources.base import Prop
from metadata_server.engine.resources.nested import TemplateResource
from metadata_server.engine.walker import CancelToken

SLICE = 1.0   # how long a wait may go without looking at the parent operation's token
MINUTE = 60.0  # seconds in a TimeoutInMinutes minute (tests shorten it, as the runner's)


class WithinToken(CancelToken):
    """A cancel token with a deadline of its own that also stops when `outer` does. Waits look
    at `outer` at least every SLICE seconds (a token has no listeners to wake them)."""

    def __init__(self, outer: CancelToken, seconds: float, monotonic=None):
        if monotonic is None:
            super().__init__(seconds)
        else:
            super().__init__(seconds, monotonic)
        self._outer = outer

    def remaining(self):
        own, outer = super().remaining(), self._outer.remaining()
        return own if outer is None else outer if own is None else min(own, outer)

    @property
    def cancelled(self):
        if not self._event.is_set() and self._outer.cancelled:
            self.handed_on = self._outer.handed_on
            self.cancel(self._outer.reason or "cancelled")
        return super().cancelled

    def wait(self, seconds):
        deadline = self._monotonic() + max(0.0, seconds)
        while not self.cancelled:
            left = deadline - self._monotonic()
            if left <= 0:
                break
            super().wait(min(left, SLICE))
        return self.cancelled


class CloudFormationStack(TemplateResource):
    type_name = "AWS::CloudFormation::Stack"
    accepts_any_properties = False
    properties_schema = {
        "TemplateURL": Prop("string", required=True, update_allowed=True),
        "TimeoutInMinutes": Prop("integer", update_allowed=True, range=(1, None)),
        "Parameters": Prop("map", default={}, update_allowed=True),
    }
    attributes_schema = None   # Outputs.<name>, checked below

    def _child_definition(self) -> dict:
        parent = self.ctx.definition or {}
        files = parent.get("files") or {}
        key = self.properties["TemplateURL"]
        if key not in files:
            raise StackValidationFailed(
                f"Could not fetch remote template \"{key}\": stoker reads a TemplateURL from "
                "the stack's files (send the template there under this URL as its key)",
                f"resources.{self.name}.properties.TemplateURL")
        return {"template": files[key], "template_name": key, "files": files,
                "environment": parent.get("environment"),
                "environment_files": parent.get("environment_files") or [],
                "parameters": self.parameters_from(self.properties.get("Parameters") or {})}

    def _token(self, token: CancelToken) -> CancelToken:
        minutes = self.properties.get("TimeoutInMinutes")
        return WithinToken(token, minutes * MINUTE) if minutes else token

    def handle_create(self, token):
        definition = self._child_definition()
        self.physical_id = self.ctx.children.create_child(self.ctx, self.name, definition)
        child = self.ctx.finder.get_stack(self.ctx.tenant, self.physical_id)
        self.data["arn"] = (f"arn:openstack:heat::{self.ctx.tenant}:stacks/"
                            f"{child['name']}/{self.physical_id}")
        self.checkpoint()
        self.ctx.children.run_child_create(self.physical_id, self._token(token))

    def handle_update(self, new_properties, changed, token):
        self.properties = new_properties
        super().handle_update(new_properties, changed, self._token(token))

    def reference_id(self):
        return self.data.get("arn") or self.physical_id or self.name

    def known_attribute(self, name):
        return name.startswith("Outputs.") or name == "show"

    def attribute(self, name):
        if name == "show":
            return {"id": self.physical_id}
        if not name.startswith("Outputs."):
            return None
        return self._outputs().get(name.partition(".")[2])
