"""AWS::CloudFormation::WaitConditionHandle and WaitCondition: the CFN flavour of wait conditions.

The handle's reference (`get_resource` / `Ref`) is a pre-signed URL under `/v1/waitcondition/`
naming the handle by its ARN; cfn-signal or curl PUTs `{"Status", "Reason", "UniqueId", "Data"}`
to it (all four required, as in Heat). The condition names its handle by that URL and otherwise
waits as OS::Heat::WaitCondition does.
"""
from __future__ import annotations

import json
from urllib.parse import quote, unquote, urlsplit

from metadata_server.engine.errors import StackValidationFailed
from metadata_server.engine.resources.base import Prop
from metadata_server.engine.resources.wait_condition import (WaitCondition, WaitConditionHandle,
                                                             handle_signature, record_signal)

CFN_KEYS = ("Status", "Reason", "UniqueId", "Data")
ARN_PREFIX = "arn:openstack:heat::"


def resource_arn(tenant: str, stack_name: str, stack_id: str, resource: str) -> str:
    return f"{ARN_PREFIX}{tenant}:stacks/{stack_name}/{stack_id}/resources/{resource}"


def parse_arn(arn: str) -> tuple[str, str, str, str] | None:
    """(tenant, stack name, stack id, resource) of a resource ARN, or None."""
    if not arn.startswith(ARN_PREFIX):
        return None
    tenant, _, path = arn[len(ARN_PREFIX):].partition(":")
    parts = path.split("/")
    if len(parts) != 5 or parts[0] != "stacks" or parts[3] != "resources" or not all(parts):
        return None
    return tenant, parts[1], parts[2], parts[4]


def cfn_signal(body) -> dict:
    """A CFN signal body in the handle's own signal shape; 400 naming what is wrong."""
    if not isinstance(body, dict):
        raise StackValidationFailed("the signal body must be a JSON object with "
                                    f"{', '.join(CFN_KEYS)}")
    missing = [k for k in CFN_KEYS if k not in body]
    extra = sorted(set(body) - set(CFN_KEYS))
    if missing or extra:
        raise StackValidationFailed(
            "Metadata format invalid: " + "; ".join(
                ([f"missing {', '.join(missing)}"] if missing else [])
                + ([f"unexpected {', '.join(extra)}"] if extra else [])))
    return {"status": body["Status"], "reason": body["Reason"], "data": body["Data"],
            "id": str(body["UniqueId"])}


class CfnWaitConditionHandle(WaitConditionHandle):
    type_name = "AWS::CloudFormation::WaitConditionHandle"
    properties_schema = {}
    attributes_schema = ()

    def reference_id(self):
        arn = resource_arn(self.ctx.tenant, self.ctx.stack_name, self.ctx.stack_id, self.name)
        return (f"{self.ctx.endpoints.base_url}/v1/waitcondition/{quote(arn, safe='/')}"
                f"?sig={handle_signature(self.ctx.endpoints.signing_key, self.ctx.stack_id, self.name)}")

    def handle_signal(self, body):
        self.data["signals"] = record_signal(self.data.get("signals") or {}, cfn_signal(body),
                                             self.ctx.limits)

    def attribute(self, name):
        return super(WaitConditionHandle, self).attribute(name)


class CfnWaitCondition(WaitCondition):
    type_name = "AWS::CloudFormation::WaitCondition"
    properties_schema = {"Handle": Prop("string", required=True),
                         "Timeout": Prop("number", required=True, update_allowed=True),
                         "Count": Prop("integer", default=1, update_allowed=True)}
    attributes_schema = ("Data",)

    def __init__(self, name, ctx, properties, *args, **kwargs):
        super().__init__(name, ctx, self._as_heat(properties), *args, **kwargs)

    @staticmethod
    def _as_heat(properties: dict) -> dict:
        """OS::Heat::WaitCondition's names, so its wait runs unchanged; the handle by name."""
        handle = properties.get("Handle") or ""
        parsed = parse_arn(unquote(urlsplit(handle).path.partition("/v1/waitcondition/")[2]))
        return {"handle": parsed[3] if parsed else handle, "timeout": properties.get("Timeout"),
                "count": properties.get("Count") or 1}

    @classmethod
    def check(cls, name, properties):
        # the Handle is not checked here: before the handle exists its URL is not known yet
        if not 1 <= properties["Timeout"] <= 43200:
            raise StackValidationFailed(f"{properties['Timeout']} is out of range "
                                        "(min: 1, max: 43200)",
                                        f"resources.{name}.properties.Timeout")

    def handle_update(self, new_properties, changed, token):
        super().handle_update(self._as_heat(new_properties), changed, token)

    def attribute(self, name):
        if name == "Data":
            signals = self.data.get("signals") or self._signals()
            return json.dumps({k: v["data"] for k, v in signals.items()})
        return super().attribute(name)
