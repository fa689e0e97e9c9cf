"""OS::Heat::ScalingPolicy: a signal to it resizes its group (scaling_group.py) by one rule.

`alarm_url` is the stack's pre-signed resource signal URL (the signature the server checks for a
wait condition handle's URL: a POST with no token); `signal_url` is the same route without the
signature, for callers with a token. The alarm state in the body is only reported, as in Heat:
an `ok` signal scales as an `alarm` one does.
"""
from __future__ import annotations

import uuid

from metadata_server.engine.errors import StackValidationFailed
from metadata_server.engine.resources.base import Forward, Prop, Resource
from metadata_server.engine.resources.scaling_capacity import CHANGE, EXACT, PERCENT
from metadata_server.engine.resources.wait_condition import handle_signature


def signal_reason(body) -> str:
    """Heat's event reason for a signal's details."""
    if not body:
        return "No signal details provided"
    if isinstance(body, str):
        return body
    if isinstance(body, dict) and {"previous", "current", "reason"} <= set(body):
        return (f"alarm state changed from {body['previous']} to {body['current']} "
                f"({body['reason']})")
    return "Unknown"


class ScalingPolicy(Resource):
    type_name = "OS::Heat::ScalingPolicy"
    properties_schema = {
        "auto_scaling_group_id": Prop("string", required=True),
        "scaling_adjustment": Prop("number", required=True, update_allowed=True),
        "adjustment_type": Prop("string", required=True, update_allowed=True,
                                allowed=(CHANGE, EXACT, PERCENT)),
        "cooldown": Prop("number", update_allowed=True),
        "min_adjustment_step": Prop("integer", update_allowed=True, range=(0, None)),
    }
    attributes_schema = ("alarm_url", "signal_url")

    @classmethod
    def check(cls, name, properties):
        path = f"resources.{name}.properties.min_adjustment_step"
        step = properties["min_adjustment_step"]
        if step is None:
            return
        if step < 0:
            raise StackValidationFailed(f"{step} is out of range (min: 0)", path)
        if properties["adjustment_type"] != PERCENT:
            raise StackValidationFailed(
                "min_adjustment_step property should only be specified for "
                f"adjustment_type with value {PERCENT}.", path)

    def handle_create(self, token):
        self.physical_id = str(uuid.uuid4())

    def rule(self) -> tuple[str, float, str, int | None, float | None]:
        """(group reference, adjustment, adjustment type, min step, cooldown)."""
        props = self.properties
        return (props["auto_scaling_group_id"], props["scaling_adjustment"],
                props["adjustment_type"], props["min_adjustment_step"], props["cooldown"])

    def handle_signal(self, body):
        group_ref, adjustment, kind, step, cooldown = self.rule()

        def check(group):
            if not callable(getattr(group, "adjust", None)):
                raise StackValidationFailed(f"{group_ref} is not a group that policies scale",
                                            f"resources.{self.name}.properties")

        def adjust(group):
            return group.adjust(adjustment, kind, step, cooldown, f"policy {self.name}")
        return Forward(group_ref, adjust, signal_reason(body), check,
                       lambda why: f"Scaling refused (policy {self.name}): {why}")

    def _url(self) -> str:
        return self.ctx.endpoints.resource_signal_url(self.ctx.tenant, self.ctx.stack_name,
                                                      self.ctx.stack_id, self.name)

    def attribute(self, name):
        if name in ("alarm_url", "signal_url") and not self.physical_id:
            return None
        if name == "alarm_url":
            signature = handle_signature(self.ctx.endpoints.signing_key, self.ctx.stack_id,
                                         self.name)
            return f"{self._url()}?sig={signature}"
        if name == "signal_url":
            return self._url()
        return super().attribute(name)
