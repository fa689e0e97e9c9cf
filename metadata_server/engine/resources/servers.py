"""Servers an agent runs on: OS::Heat::DeployedServer, OS::Nova::Server; and OS::Nova::KeyPair.

Both server types register a stoker server (the id deployments target, with its own
credentials) and expose Heat's `os_collect_config` attribute: collector settings for the chosen
transport, so an agent configured from it, stoker's or upstream's, finds its metadata.
"""
from __future__ import annotations

import uuid

from metadata_server.boot import agent_source
from metadata_server.engine.drivers.base import CloudError
from metadata_server.engine.resources import server_user_data
from metadata_server.engine.resources.base import Prop, Resource
from metadata_server.service import documents, servers
from metadata_server.service.errors import NotFound

TRANSPORTS = ("POLL_SERVER_CFN", "POLL_SERVER_HEAT", "POLL_TEMP_URL")


class AgentServer(Resource):
    """What DeployedServer and a SOFTWARE_CONFIG Nova server share: a registered stoker server."""

    def _register(self, server_id: str, name: str) -> None:
        _row, issued = servers.register_server(self.ctx.store, self.ctx.clock, self.ctx.tenant,
                                               {"id": server_id, "name": name})
        # secrets the os_collect_config attribute hands to the agent; never in events or logs
        self.data.update(token=issued.token, access_key_id=issued.access_key_id,
                         secret_access_key=issued.secret_access_key)

    def _unregister(self) -> None:
        try:
            servers.delete_server(self.ctx.store, self.ctx.clock, self.ctx.tenant, self.physical_id)
        except NotFound:
            pass

    def handle_adopt(self, token):
        # whatever the abandoned data claims: a registered stoker server must be the tenant's
        found = self.ctx.store.get_server(self.physical_id)
        software = self.properties.get("user_data_format") == "SOFTWARE_CONFIG"
        if (found is not None and found.tenant != self.ctx.tenant) or (software and found is None):
            raise NotFound(f"Server {self.physical_id} is not one of this tenant's servers")

    def os_collect_config(self) -> dict | None:
        if "access_key_id" not in self.data:
            return None
        endpoints, server_id = self.ctx.endpoints, self.physical_id
        transport = self.server_properties().get("software_config_transport") or "POLL_SERVER_CFN"
        watch = {"metadata_url": endpoints.server_metadata_url(self.ctx.tenant, server_id),
                 "auth_token": self.data["token"]}
        if transport == "POLL_TEMP_URL":
            settings = documents.request_settings(
                endpoints.signed_metadata_url(server_id, self.data["access_key_id"]))
        elif transport == "POLL_SERVER_HEAT":
            settings = {"collectors": ["heat", "local"], "heat": {
                "auth_url": f"{endpoints.base_url}/v3", "user_id": server_id,
                "password": self.data["token"], "project_id": self.ctx.tenant,
                # as Heat: name/id, the path of the stack route the collector reads
                "stack_id": f"{self.ctx.stack_name}/{self.ctx.stack_id}",
                "resource_name": self.name}}
        else:
            settings = documents.cfn_settings(endpoints.cfn_url(), self.ctx.stack_name, self.name,
                                              self.data["access_key_id"],
                                              self.data["secret_access_key"])
        # stoker's own agent prefers the watch collector; upstream agents ignore the extra key
        settings["watch"] = watch
        return settings

    def server_properties(self) -> dict:
        """The properties in OS::Nova::Server's names (AWS::EC2::Instance translates its own)."""
        return self.properties

    def attribute(self, name):
        if name == "os_collect_config":
            return self.os_collect_config()
        if name == "name":
            return self.server_properties().get("name") or self.data.get("name")
        return super().attribute(name)


class DeployedServer(AgentServer):
    type_name = "OS::Heat::DeployedServer"
    properties_schema = {"name": Prop("string", update_allowed=True),
                         "metadata": Prop("map", update_allowed=True),
                         "software_config_transport": Prop("string", default="POLL_SERVER_CFN",
                                                           update_allowed=True, allowed=TRANSPORTS),
                         "deployment_swift_data": Prop("map", update_allowed=True)}
    attributes_schema = ("name", "os_collect_config")

    def handle_create(self, token):
        self.physical_id = str(uuid.uuid4())
        self.data["name"] = self.properties.get("name") or self.physical_name()
        self._register(self.physical_id, self.data["name"])

    def handle_delete(self, token):
        if self.physical_id:
            self._unregister()

    def handle_adopt(self, token):
        if self.ctx.store.get_server(self.physical_id, self.ctx.tenant) is None:
            raise NotFound(f"Server {self.physical_id} is not one of this tenant's servers")


class Server(AgentServer):
    type_name = "OS::Nova::Server"
    properties_schema = {
        "name": Prop("string", update_allowed=True),
        "image": Prop("string", update_allowed=True),
        "flavor": Prop("string", required=True, update_allowed=True),
        "key_name": Prop("string"),
        "networks": Prop("list", default=[], update_allowed=True),
        "security_groups": Prop("list", default=[], update_allowed=True),
        "user_data": Prop("string", default=""),
        "user_data_format": Prop("string", default="HEAT_CFNTOOLS",
                                 allowed=("HEAT_CFNTOOLS", "RAW", "SOFTWARE_CONFIG")),
        "software_config_transport": Prop("string", default="POLL_SERVER_CFN",
                                          update_allowed=True, allowed=TRANSPORTS),
        "metadata": Prop("map", update_allowed=True),
        "config_drive": Prop("boolean"),
        "block_device_mapping_v2": Prop("list"),
        "availability_zone": Prop("string"),
        "admin_pass": Prop("string"),
        "deployment_swift_data": Prop("map", update_allowed=True),
    }
    attributes_schema = ("name", "os_collect_config", "first_address", "networks", "addresses",
                         "accessIPv4", "accessIPv6", "instance_name")

    def attribute(self, name):
        if name in ("show", "name") and name in self.data.get("attributes", {}):
            return self.data["attributes"][name]   # the cloud's view of the server, as Heat's
        if name in ("addresses", "networks", "first_address") and "cloud_id" in self.data:
            # Heat reads these at get_attr time: a floating IP associated later shows
            current = self.ctx.driver.server_addresses(self.data["cloud_id"])
            if current is not None:
                return current[name]
        return super().attribute(name)

    def _users_text(self) -> str:
        props = self.server_properties()
        text = props.get("user_data") or ""
        if props["user_data_format"] in ("RAW", "SOFTWARE_CONFIG"):
            row = self.ctx.store.get_config(text, self.ctx.tenant) if len(text) == 36 else None
            if row is not None:
                value = row.body.get("config")
                text = value if isinstance(value, str) else str(value)
        return text

    def handle_create(self, token):
        props = self.server_properties()
        server_id = str(uuid.uuid4())
        name = props.get("name") or self.physical_name()
        self.data["name"] = name
        software = props["user_data_format"] == "SOFTWARE_CONFIG"
        if software:
            self.physical_id = server_id
            self._register(server_id, name)
        spec = {k: v for k, v in props.items() if k != "user_data" and v is not None}
        if software:
            spec["os_collect_config"] = self.os_collect_config()
        # the one place the boot user_data is decided; drivers send it as it is
        spec["user_data"] = server_user_data.build(
            props["user_data_format"], self._users_text(),
            watch=spec["os_collect_config"]["watch"] if software else None,
            install=lambda: agent_source.agent_install(self.ctx.endpoints.base_url),
            boots=getattr(self.ctx.driver, "boots_user_data", True))
        try:
            cloud_id, attributes = self.ctx.driver.create("server", name, spec,
                                                          physical_id=server_id)
        except CloudError:
            if software:
                self._unregister()
            raise
        # deployments target the stoker server's id; the cloud may have chosen another
        self.data["cloud_id"] = cloud_id
        self.physical_id = server_id if software else cloud_id
        self.data["attributes"] = {k: v for k, v in attributes.items()
                                   if k not in ("user_data", "os_collect_config")}

    def handle_update(self, new_properties, changed, token):
        self.properties = new_properties
        attributes = self.ctx.driver.update("server", self.data.get("cloud_id", self.physical_id),
                                            {k: new_properties[k] for k in changed})
        # an update answers what it changed; the addresses read at create stay
        self.data["attributes"] = {**self.data.get("attributes", {}),
                                   **{k: v for k, v in attributes.items()
                                      if k not in ("user_data", "os_collect_config")}}

    def handle_delete(self, token):
        if not self.physical_id:
            return
        self.ctx.driver.delete("server", self.data.get("cloud_id", self.physical_id))
        if self.server_properties().get("user_data_format") == "SOFTWARE_CONFIG":
            self._unregister()

    def handle_adopt(self, token):
        cloud_id = self.data.get("cloud_id", self.physical_id)
        if self.ctx.driver.show("server", cloud_id) is None:
            raise CloudError(f"the cloud has no server {cloud_id}")
        super().handle_adopt(token)


class KeyPair(Resource):
    type_name = "OS::Nova::KeyPair"
    properties_schema = {"name": Prop("string", required=True),
                         "public_key": Prop("string"), "save_private_key": Prop("boolean"),
                         "type": Prop("string", default="ssh")}
    attributes_schema = ("public_key", "private_key")

    def handle_create(self, token):
        _id, attributes = self.ctx.driver.create("keypair", self.properties["name"],
                                                 dict(self.properties))
        self.physical_id = self.properties["name"]
        self.data["attributes"] = attributes

    def handle_delete(self, token):
        if self.physical_id:
            self.ctx.driver.delete("keypair", self.physical_id)
