"""OS::Heat::SoftwareDeployment and StructuredDeployment: run a config on a server and wait.

Every action listed in `actions` makes a new derived config (the service's derive_body, so the
deploy_* inputs come in Heat's order), points the deployment at it, and waits until the agent's
signal makes the deployment COMPLETE or FAILED. The wait polls the store through the cancel
token, so a stack cancel or timeout ends it ("Deployment cancelled.").
"""
from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from metadata_server.engine.errors import Cancelled, StackValidationFailed, UpdateReplace
from metadata_server.engine.resources import software_component
from metadata_server.engine.resources.base import Prop, Resource
from metadata_server.service import deployments
from metadata_server.service.derived_config import (TRANSPORTS, DeployContext, derive_body,
                                                    derive_inputs)
from metadata_server.store.records import ConfigRecord, DeploymentRecord

ACTIONS = ("CREATE", "UPDATE", "DELETE", "SUSPEND", "RESUME")
# Heat also knows ZAQAR_SIGNAL; the service derives configs for these
SIGNAL_TRANSPORTS = TRANSPORTS
DEFAULT_TRANSPORT = "CFN_SIGNAL"


class DeploymentFailed(Exception):
    error_type = "Error"


class SoftwareDeployment(Resource):
    type_name = "OS::Heat::SoftwareDeployment"
    properties_schema = {
        "config": Prop("string", update_allowed=True),
        "server": Prop("string", required=True),
        "input_values": Prop("map", default={}, update_allowed=True),
        "actions": Prop("list", default=["CREATE", "UPDATE"], update_allowed=True),
        "name": Prop("string", update_allowed=True),
        "signal_transport": Prop("string", default=DEFAULT_TRANSPORT),
    }
    attributes_schema = None  # deploy_stdout, deploy_stderr, deploy_status_code + any output

    @classmethod
    def check(cls, name, properties):
        path = f"resources.{name}.properties"
        for index, action in enumerate(properties["actions"] or []):
            if action not in ACTIONS:
                raise StackValidationFailed(f"\"{action}\" is not an allowed value {list(ACTIONS)}",
                                            f"{path}.actions[{index}]")
        if properties["signal_transport"] not in SIGNAL_TRANSPORTS:
            raise StackValidationFailed(
                f"\"{properties['signal_transport']}\" is not an allowed value "
                f"{list(SIGNAL_TRANSPORTS)} (stoker supports these signal transports)",
                f"{path}.signal_transport")

    # -- the derived config ------------------------------------------------------------------
    def _source(self) -> ConfigRecord:
        """The config to derive from; without a `config` property, an empty one not stored
        (its id is empty)."""
        config_id = self.properties.get("config")
        if not config_id:
            return ConfigRecord(id="", tenant=self.ctx.tenant, name=None, group="Heat::Ungrouped",
                                body={"config": "", "inputs": [], "outputs": [], "options": {}},
                                created_at=self.ctx.clock())
        row = self.ctx.store.get_config(config_id, self.ctx.tenant)
        if row is None:
            raise DeploymentFailed(f"Software config {config_id} not found")
        return row

    def transform(self, body: dict, inputs: list[dict]) -> dict:
        """StructuredDeployment substitutes get_input here; a plain deployment keeps the body."""
        return body

    def _derive(self, source: ConfigRecord, action: str, deployment_id: str,
                timeout: float) -> ConfigRecord:
        transport = self.properties["signal_transport"]
        context = DeployContext(server_id=self.properties["server"], action=action,
                                transport=transport,
                                stack_id=f"{self.ctx.stack_name}/{self.ctx.stack_id}",
                                resource_name=self.name)
        expires = self.ctx.clock() + timedelta(seconds=timeout) + deployments.SIGNAL_URL_SLACK
        body = derive_body(source.body, self.properties.get("input_values") or {}, context,
                           self.ctx.endpoints.signal_target(self.ctx.tenant, deployment_id,
                                                            expires))
        body = self.transform(body, body["inputs"])
        name = self.properties.get("name") or source.name or self.physical_name()
        return ConfigRecord(id=str(uuid.uuid4()), tenant=self.ctx.tenant, name=name,
                            group=source.group or "Heat::Ungrouped", body=body,
                            created_at=self.ctx.clock())

    def _timeout(self, token) -> float:
        remaining = token.remaining()
        seconds = deployments.DEFAULT_TIMEOUT_SECONDS if remaining is None else remaining
        return max(1.0, min(seconds, 604800))

    # -- actions -----------------------------------------------------------------------------
    def _runs_for(self, action: str, source: ConfigRecord | None) -> bool:
        if source is not None and source.group == software_component.GROUP:
            # its entries say, as in Heat
            return action in software_component.component_actions(source.body)
        return action in (self.properties.get("actions") or [])

    def _deploy(self, action: str, token) -> None:
        source = self._source()
        if not self._runs_for(action, source):
            return
        store, clock = self.ctx.store, self.ctx.clock
        timeout = self._timeout(token)
        transport = self.properties["signal_transport"]
        status = "COMPLETE" if transport == "NO_SIGNAL" else "IN_PROGRESS"
        reason = ("Not waiting for outputs signal" if transport == "NO_SIGNAL"
                  else "Deploy data available")
        existing = store.get_deployment(self.physical_id) if self.physical_id else None
        if existing is None:
            self.physical_id = self._create(source, action, timeout)
            self.checkpoint()
        else:
            derived = self._derive(source, action, existing.id, timeout)
            store.insert_config(derived)
            deployments.update_deployment(store, clock, self.ctx.tenant, existing.id, {
                "config_id": derived.id, "input_values": self.properties.get("input_values"),
                "action": action, "status": status, "status_reason": reason,
                "timeout": timeout})
            if existing.config_id != derived.id:
                store.delete_config(existing.config_id)
        self.data["config_id"] = store.get_deployment(self.physical_id).config_id
        self._wait(token)

    def _create(self, source: ConfigRecord, action: str, timeout: float) -> str:
        store = self.ctx.store
        body = {"server_id": self.properties["server"], "action": action,
                "input_values": self.properties.get("input_values") or {},
                "signal_transport": self.properties["signal_transport"],
                "stack_id": f"{self.ctx.stack_name}/{self.ctx.stack_id}",
                "resource_name": self.name, "timeout": timeout,
                "name": self.properties.get("name") or source.name or self.physical_name()}
        temporary = None
        if not source.id or type(self).transform is not SoftwareDeployment.transform:
            # the service derives from a stored config; a config-less or structured deployment
            # stores what it should derive from first (the signal URL needs the deployment id
            # the service chooses, so structured substitution happens before derivation)
            preview = derive_inputs(source.inputs, body["input_values"],
                                    DeployContext(body["server_id"], action,
                                                  body["signal_transport"], body["stack_id"],
                                                  self.name), None)
            temporary = ConfigRecord(id=str(uuid.uuid4()), tenant=self.ctx.tenant,
                                     name=source.name, group=source.group,
                                     body=self.transform(dict(source.body), preview),
                                     created_at=self.ctx.clock())
            store.insert_config(temporary)
        body["config_id"] = temporary.id if temporary else source.id
        # as Heat's nova.server constraint: the server must be one of this tenant's
        row = deployments.create_deployment(store, self.ctx.clock, self.ctx.tenant, body,
                                            self.ctx.endpoints, timeout, require_server=True)
        if temporary:
            store.delete_config(temporary.id)
        return row.id

    def _wait(self, token) -> None:
        while True:
            row = self.ctx.store.get_deployment(self.physical_id)
            if row is None:
                raise DeploymentFailed("the deployment was deleted while the stack waited for it")
            if row.status == "COMPLETE":
                return
            if row.status == "FAILED":
                raise DeploymentFailed(f"Deployment to server failed: {row.status_reason}")
            if token.wait(self.ctx.poll_interval):
                if not token.handed_on:
                    self.handle_cancel()
                raise Cancelled(token.reason)

    def handle_create(self, token):
        self._deploy("CREATE", token)
        if self.physical_id is None:
            self.physical_id = str(uuid.uuid4())  # CREATE not in actions: nothing deployed yet

    def handle_update(self, new_properties, changed, token):
        old_inputs = self._replace_on_change_values(self.properties)
        self.properties = new_properties
        if old_inputs != self._replace_on_change_values(new_properties):
            raise UpdateReplace()
        self._deploy("UPDATE", token)

    def _replace_on_change_values(self, properties: dict) -> list:
        """(name, value) of inputs declared replace_on_change: a change replaces the resource."""
        config_id = properties.get("config")
        row = self.ctx.store.get_config(config_id, self.ctx.tenant) if config_id else None
        declared = row.inputs if row else []
        values = properties.get("input_values") or {}
        return [(i["name"], values.get(i["name"], i.get("default")))
                for i in declared if i.get("replace_on_change")]

    def handle_delete(self, token):
        store = self.ctx.store
        row = store.get_deployment(self.physical_id) if self.physical_id else None
        if row is None:
            return
        try:
            source = self._source()
        except DeploymentFailed:
            source = None   # its config is gone: only the deployment's own `actions` can say
        if self._runs_for("DELETE", source):
            self._deploy("DELETE", token)
            row = store.get_deployment(self.physical_id)
        deployments.delete_deployment(store, self.ctx.clock, self.ctx.tenant, row.id)
        store.delete_config(row.config_id)

    def handle_suspend(self, token):
        self._deploy("SUSPEND", token)

    def handle_resume(self, token):
        self._deploy("RESUME", token)

    def handle_cancel(self):
        row = self.ctx.store.get_deployment(self.physical_id) if self.physical_id else None
        if row is not None and row.status == "IN_PROGRESS":
            deployments.update_deployment(self.ctx.store, self.ctx.clock, self.ctx.tenant,
                                          row.id, {"status": "FAILED",
                                                      "status_reason": "Deployment cancelled."})

    def attribute(self, name: str) -> Any:
        row = self.ctx.store.get_deployment(self.physical_id) if self.physical_id else None
        if name == "show":
            return deployments.format_deployment(row) if row else None
        outputs = (row.output_values if row else None) or {}
        return outputs.get(name)

    # -- abandon, adopt, snapshot and restore -------------------------------------------------
    def handle_adopt(self, token):
        if self.ctx.store.get_deployment(self.physical_id, self.ctx.tenant) is None:
            raise DeploymentFailed(f"Deployment {self.physical_id} is not one of this "
                                   "tenant's deployments")

    def export_data(self) -> dict:
        """As Heat keeps them in resource data: the outputs the agent signalled."""
        row = (self.ctx.store.get_deployment(self.physical_id, self.ctx.tenant)
               if self.physical_id else None)
        outputs = (row.output_values if row else None) or {}
        return dict(self.data, output_values=outputs) if outputs else dict(self.data)

    def handle_restore(self, resource_data):
        outputs = resource_data.get("output_values")
        row = (self.ctx.store.get_deployment(self.physical_id, self.ctx.tenant)
               if self.physical_id else None)
        if (isinstance(outputs, dict) and outputs and row is not None
                and outputs != row.output_values):
            deployments.update_deployment(self.ctx.store, self.ctx.clock, self.ctx.tenant,
                                          row.id, {"output_values": outputs})

    # -- after an engine restart -------------------------------------------------------------
    def _deploying(self, step: str) -> DeploymentRecord | None:
        """The stored deployment, if the interrupted `step` had already handed it to the agent:
        it shows the step's action and a derived config other than the one the resource last
        recorded (`data["config_id"]`, kept when an action completes or fails)."""
        row = self.ctx.store.get_deployment(self.physical_id) if self.physical_id else None
        if (row is None or row.action != step
                or row.config_id == self.data.get("config_id")):
            return None
        if (row.server_id != self.properties.get("server")
                or (row.input_values or {}) != (self.properties.get("input_values") or {})):
            return None  # made from other properties: not this step's deployment
        return row

    def can_continue(self, step):
        return self._deploying(step) is not None

    def continue_interrupted(self, step, token):
        """The agent may still be running it, or have signalled while the engine was down (the
        signal went to the store): wait for that result instead of deploying again."""
        row = self._deploying(step)
        if row is None:
            raise DeploymentFailed("the deployment was deleted while the engine restarted")
        self.data["config_id"] = row.config_id
        self._wait(token)
        if step == "DELETE":
            row = self.ctx.store.get_deployment(self.physical_id)
            deployments.delete_deployment(self.ctx.store, self.ctx.clock, self.ctx.tenant,
                                          row.id)
            self.ctx.store.delete_config(row.config_id)


class StructuredDeployment(SoftwareDeployment):
    type_name = "OS::Heat::StructuredDeployment"
    properties_schema = dict(SoftwareDeployment.properties_schema,
                             input_key=Prop("string", default="get_input"),
                             input_values_validate=Prop("string", default="LAX",
                                                        allowed=("LAX", "STRICT")))

    def transform(self, body, inputs):
        values = {i["name"]: i.get("value") for i in inputs}
        key, strict = self.properties["input_key"], self.properties["input_values_validate"] == "STRICT"

        def substitute(node):
            if isinstance(node, dict):
                if len(node) == 1 and key in node and isinstance(node[key], str):
                    if node[key] not in values and strict:
                        raise DeploymentFailed(f"The Parameter ({node[key]}) was not provided.")
                    return values.get(node[key])
                return {k: substitute(v) for k, v in node.items()}
            if isinstance(node, list):
                return [substitute(v) for v in node]
            return node

        return dict(body, config=substitute(body.get("config") or {}))
