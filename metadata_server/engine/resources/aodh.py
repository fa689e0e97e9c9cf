"""OS::Aodh::Alarm, OS::Aodh::GnocchiAggregationByResourcesAlarm and
OS::Aodh::GnocchiResourcesAlarm, with Heat's properties.

Both become one alarm in Aodh's API shape (`aodh_body`, as Heat's alarm_base reformats its
properties). Where it goes is decided at create and kept with the resource: to Aodh through the
cloud driver when the driver evaluates alarms (the openstack driver, unless the operator chose
stoker's evaluator), else to stoker's own alarm table, which the server's evaluator reads
(service/alarm_evaluator.py).
"""
from __future__ import annotations

import uuid

from metadata_server.engine.errors import StackValidationFailed
from metadata_server.engine.resources.base import Prop, Resource
from metadata_server.engine.resources.wait_condition import handle_signature
from metadata_server.service import alarm_matching, alarm_time
from metadata_server.service.alarm_rules import (BY_RESOURCES, METHODS, ONE_RESOURCE, STATISTICS,
                                                 THRESHOLD)
from metadata_server.service.errors import InvalidInput
from metadata_server.service.metric_samples import epoch
from metadata_server.store.alarms import AlarmStore

OPERATORS = ("ge", "gt", "eq", "ne", "lt", "le")
ACTIONS = ("alarm_actions", "ok_actions", "insufficient_data_actions")
QUEUES = {"alarm_queues": "alarm_actions", "ok_queues": "ok_actions",
          "insufficient_data_queues": "insufficient_data_actions"}
POLICY_TYPES = ("OS::Heat::ScalingPolicy", "AWS::AutoScaling::ScalingPolicy")
# Ceilometer's compute meters carry a server's metering.* metadata as user_metadata.*
NOVA_METERS = ("instance", "memory", "memory.usage", "memory.resident", "memory.swap.in",
               "memory.swap.out", "cpu", "cpu_util", "cpu.delta", "vcpus", "disk.read.requests",
               "disk.write.requests", "disk.read.bytes", "disk.write.bytes", "disk.usage",
               "disk.capacity", "disk.allocation", "disk.root.size", "disk.ephemeral.size",
               "network.incoming.bytes", "network.outgoing.bytes", "network.incoming.packets",
               "network.outgoing.packets", "disk.read.requests.rate", "disk.write.requests.rate",
               "disk.read.bytes.rate", "disk.write.bytes.rate", "network.incoming.bytes.rate",
               "network.outgoing.bytes.rate")
COMMON = {
    "description": Prop("string", update_allowed=True),
    "enabled": Prop("boolean", default=True, update_allowed=True),
    "alarm_actions": Prop("list", update_allowed=True),
    "ok_actions": Prop("list", update_allowed=True),
    "insufficient_data_actions": Prop("list", update_allowed=True),
    "alarm_queues": Prop("list", default=[], update_allowed=True),
    "ok_queues": Prop("list", default=[], update_allowed=True),
    "insufficient_data_queues": Prop("list", default=[], update_allowed=True),
    "repeat_actions": Prop("boolean", default=True, update_allowed=True),
    "severity": Prop("string", default="low", update_allowed=True,
                     allowed=("low", "moderate", "critical")),
    "time_constraints": Prop("list", default=[]),
}
_RULE = {
    "comparison_operator": Prop("string", update_allowed=True, allowed=OPERATORS),
    "evaluation_periods": Prop("integer", update_allowed=True, range=(1, None)),
    "threshold": Prop("number", required=True, update_allowed=True),
}


class _Alarm(Resource):
    kind = ""
    rule_names: tuple[str, ...] = ()

    @classmethod
    def check(cls, name, properties):
        path = f"resources.{name}.properties"
        try:
            cls.server_test(properties)
        except InvalidInput as exc:
            raise StackValidationFailed(exc.message, f"{path}.query") from None
        try:
            alarm_time.check(properties.get("time_constraints"))
        except InvalidInput as exc:
            raise StackValidationFailed(exc.message, f"{path}.time_constraints") from None

    @classmethod
    def server_test(cls, properties):
        raise NotImplementedError

    def rule(self) -> dict:
        return {k: self.properties[k] for k in self.rule_names if self.properties.get(k) is not None}

    def aodh_body(self) -> dict:
        """The alarm as Aodh's API takes it (Heat's reformatting of the properties)."""
        props = self.properties
        body = {"name": self.data.setdefault("alarm_name", self.physical_name()),
                "type": self.kind, "enabled": props["enabled"],
                "repeat_actions": props["repeat_actions"], "severity": props["severity"],
                "time_constraints": props.get("time_constraints") or [],
                f"{self.kind}_rule": self.rule()}
        if props.get("description") is not None:
            body["description"] = props["description"]
        for key in ACTIONS:
            urls = [self._action_url(entry) for entry in props.get(key) or []]
            if urls or props.get(key) is not None:
                body[key] = urls
        for queues, key in QUEUES.items():
            for queue in props.get(queues) or []:
                body.setdefault(key, []).append(f"trust+zaqar://?queue_name={queue}")
        return body

    def _action_url(self, entry) -> str:
        """Heat's rule: an entry naming a policy of this stack is that policy's alarm URL."""
        entry = str(entry)
        row = self.ctx.finder.find_resource(self.ctx.stack_id, entry)
        if row is None or row.get("type") not in POLICY_TYPES or row.get("name") != entry:
            return entry
        url = self.ctx.endpoints.resource_signal_url(self.ctx.tenant, self.ctx.stack_name,
                                                     self.ctx.stack_id, entry)
        return f"{url}?sig={handle_signature(self.ctx.endpoints.signing_key, self.ctx.stack_id, entry)}"

    # -- where the alarm lives --------------------------------------------------------------
    def _in_cloud(self) -> bool:
        return self.data.get("evaluator") == "aodh"

    def _local(self) -> AlarmStore:
        return AlarmStore(self.ctx.store.engine)

    def _put_local(self, body: dict) -> None:
        now = epoch(self.ctx.clock)
        self._local().put({"id": self.physical_id, "tenant": self.ctx.tenant,
                           "stack_id": self.ctx.stack_id, "resource_name": self.name,
                           "resource_type": self.type_name, "body": body,
                           "enabled": body["enabled"], "next_at": now, "created_at": now})

    def handle_create(self, token):
        self._check_rule()
        body = self.aodh_body()
        if getattr(self.ctx.driver, "evaluates_alarms", False):
            self.data["evaluator"] = "aodh"
            self.physical_id, self.data["attributes"] = self.ctx.driver.create(
                "alarm", body["name"], body)
            return
        self.data["evaluator"] = "stoker"
        self.physical_id = str(uuid.uuid4())
        self._put_local(body)

    def _check_rule(self) -> None:
        """What Aodh's API refuses, refused here too for an alarm stoker evaluates."""

    def handle_update(self, new_properties, changed, token):
        self.properties = new_properties
        self._check_rule()
        body = self.aodh_body()
        if self._in_cloud():
            self.data["attributes"] = self.ctx.driver.update("alarm", self.physical_id, body)
        else:
            self._put_local(body)

    def handle_delete(self, token):
        if not self.physical_id:
            return
        if self._in_cloud():
            self.ctx.driver.delete("alarm", self.physical_id)
        else:
            self._local().remove(self.physical_id)

    def _enable(self, enabled: bool) -> None:
        """Heat suspends an alarm by disabling it, and resume enables it again."""
        if not self.physical_id:
            return
        enabled = enabled and self.properties["enabled"]   # resume keeps a disabled alarm so
        if self._in_cloud():
            self.data["attributes"] = self.ctx.driver.update(
                "alarm", self.physical_id, dict(self.aodh_body(), enabled=enabled))
        else:
            self._local().set_enabled(self.physical_id, enabled, epoch(self.ctx.clock))

    def handle_suspend(self, token):
        self._enable(False)

    def handle_resume(self, token):
        self._enable(True)

    def attribute(self, name):
        if name != "show" or not self.physical_id:
            return super().attribute(name)
        if self._in_cloud():
            return self.data.get("attributes")
        row = self._local().get(self.physical_id)
        if row is None:
            return None
        return dict(row["body"], alarm_id=row["id"], state=row["state"],
                    state_reason=row["state_reason"] or "")


class AodhAlarm(_Alarm):
    """A threshold alarm on a meter (Aodh's `threshold` type, ceilometer statistics)."""
    type_name = "OS::Aodh::Alarm"
    kind = THRESHOLD
    rule_names = ("meter_name", "period", "evaluation_periods", "statistic", "threshold",
                  "comparison_operator")
    properties_schema = {
        "meter_name": Prop("string", required=True, update_allowed=True),
        "period": Prop("integer", update_allowed=True, range=(1, None)),
        "statistic": Prop("string", update_allowed=True, allowed=STATISTICS),
        "matching_metadata": Prop("map", update_allowed=True),
        "query": Prop("list", update_allowed=True),
        **_RULE, **COMMON}

    @classmethod
    def server_test(cls, properties):
        return alarm_matching.threshold_query(cls.query(properties))

    @staticmethod
    def query(properties) -> list:
        """`query`, then one term per matching_metadata entry, as Heat builds them."""
        prefix = ("user_metadata." if properties.get("meter_name") in NOVA_METERS
                  else "metering.")
        query = list(properties.get("query") or [])
        for key, value in (properties.get("matching_metadata") or {}).items():
            key = str(key)
            if key.startswith("metadata."):
                key = key[len("metadata."):]
            if key.startswith(("metering.", "user_metadata.")):
                key = key.split(".", 1)[1]
            query.append({"field": f"metadata.{prefix}{key}", "op": "eq", "value": str(value)})
        return query

    def rule(self):
        rule = super().rule()
        query = self.query(self.properties)
        if query:
            rule["query"] = query
        return rule


class GnocchiAggregationByResourcesAlarm(_Alarm):
    """An aggregate of one metric over the resources a search finds (Gnocchi's by-resources)."""
    type_name = "OS::Aodh::GnocchiAggregationByResourcesAlarm"
    kind = BY_RESOURCES
    rule_names = ("metric", "aggregation_method", "granularity", "evaluation_periods",
                  "threshold", "comparison_operator", "resource_type", "query")
    properties_schema = {
        "metric": Prop("string", required=True, update_allowed=True),
        "aggregation_method": Prop("string", update_allowed=True,
                                   allowed=METHODS + tuple(f"rate:{m}" for m in METHODS)),
        "granularity": Prop("integer", update_allowed=True, range=(1, None)),
        "resource_type": Prop("string", required=True, update_allowed=True),
        "query": Prop("string", required=True, update_allowed=True),
        **_RULE, **COMMON}

    @classmethod
    def server_test(cls, properties):
        return alarm_matching.gnocchi_search(properties.get("query") or "")

    def _check_rule(self):
        if not self.properties.get("aggregation_method"):
            raise StackValidationFailed(
                "aggregation_method is required by Aodh's gnocchi rules (e.g. mean)",
                f"resources.{self.name}.properties.aggregation_method")


class GnocchiResourcesAlarm(GnocchiAggregationByResourcesAlarm):
    """One resource's metric (Gnocchi's resources alarm): for stoker, one server by its id."""
    type_name = "OS::Aodh::GnocchiResourcesAlarm"
    kind = ONE_RESOURCE
    rule_names = ("metric", "aggregation_method", "granularity", "evaluation_periods",
                  "threshold", "comparison_operator", "resource_type", "resource_id")
    properties_schema = {
        **{k: v for k, v in GnocchiAggregationByResourcesAlarm.properties_schema.items()
           if k != "query"},
        "resource_id": Prop("string", required=True, update_allowed=True)}

    @classmethod
    def server_test(cls, properties):
        return lambda server: server["id"] == properties.get("resource_id")


TYPES = (AodhAlarm, GnocchiAggregationByResourcesAlarm, GnocchiResourcesAlarm)
