"""Neutron and Cinder resources: thin records over the CloudDriver.

Each type names the driver kind, its properties (update_allowed as in Heat) and the attributes
it exposes; create, update and delete go to the driver, attributes come from what it returned.
"""
from __future__ import annotations

from metadata_server.engine.drivers.base import CloudError
from metadata_server.engine.resources.base import Prop, Resource
from metadata_server.engine.resources.volume_backup import VolumeBackups


class CloudResource(Resource):
    kind = ""

    def spec(self) -> dict:
        return {k: v for k, v in self.properties.items() if v is not None}

    def physical_name(self) -> str:
        return self.properties.get("name") or super().physical_name()

    def handle_create(self, token):
        self.physical_id, attributes = self.ctx.driver.create(self.kind, self.physical_name(),
                                                              self.spec())
        self.data["attributes"] = attributes

    def handle_update(self, new_properties, changed, token):
        self.properties = new_properties
        self.data["attributes"] = self.ctx.driver.update(
            self.kind, self.physical_id, {k: new_properties[k] for k in changed})

    def handle_delete(self, token):
        if self.physical_id:
            self.ctx.driver.delete(self.kind, self.physical_id)

    def handle_adopt(self, token):
        if self.ctx.driver.show(self.kind, self.physical_id) is None:
            raise CloudError(f"the cloud has no {self.kind} {self.physical_id}")


def _type(type_name: str, kind: str, properties: dict, attributes: tuple,
          bases: tuple = (CloudResource,)) -> type[CloudResource]:
    return type(type_name.replace("::", ""), bases, {
        "type_name": type_name, "kind": kind, "properties_schema": properties,
        "attributes_schema": attributes})


_NAME = Prop("string", update_allowed=True)
Net = _type("OS::Neutron::Net", "net", {
    "name": _NAME, "admin_state_up": Prop("boolean", default=True, update_allowed=True),
    "shared": Prop("boolean", update_allowed=True), "port_security_enabled": Prop("boolean", update_allowed=True),
    "value_specs": Prop("map", update_allowed=True), "tenant_id": Prop("string"),
    "dns_domain": Prop("string", update_allowed=True), "qos_policy": Prop("string", update_allowed=True),
    "tags": Prop("list", update_allowed=True)}, ("name", "subnets", "status", "mtu"))
Subnet = _type("OS::Neutron::Subnet", "subnet", {
    "name": _NAME, "network": Prop("string", required=True), "cidr": Prop("string"),
    "ip_version": Prop("integer", default=4), "enable_dhcp": Prop("boolean", default=True, update_allowed=True),
    "gateway_ip": Prop("string", update_allowed=True), "dns_nameservers": Prop("list", update_allowed=True),
    "allocation_pools": Prop("list", update_allowed=True), "host_routes": Prop("list", update_allowed=True),
    "subnetpool": Prop("string"), "prefixlen": Prop("integer"), "tags": Prop("list", update_allowed=True),
    "value_specs": Prop("map", update_allowed=True)},
    ("name", "cidr", "gateway_ip", "ip_version", "network_id", "allocation_pools"))
Port = _type("OS::Neutron::Port", "port", {
    "name": _NAME, "network": Prop("string", required=True), "fixed_ips": Prop("list", update_allowed=True),
    "security_groups": Prop("list", update_allowed=True), "mac_address": Prop("string"),
    "admin_state_up": Prop("boolean", default=True, update_allowed=True),
    "allowed_address_pairs": Prop("list", update_allowed=True),
    "port_security_enabled": Prop("boolean", update_allowed=True),
    "binding:vnic_type": Prop("string", update_allowed=True), "value_specs": Prop("map", update_allowed=True),
    "tags": Prop("list", update_allowed=True)},
    ("name", "fixed_ips", "mac_address", "network_id", "first_address", "status"))
Router = _type("OS::Neutron::Router", "router", {
    "name": _NAME, "external_gateway_info": Prop("map", update_allowed=True),
    "admin_state_up": Prop("boolean", default=True, update_allowed=True),
    "value_specs": Prop("map", update_allowed=True), "tags": Prop("list", update_allowed=True)},
    ("name", "external_gateway_info", "status"))
RouterInterface = _type("OS::Neutron::RouterInterface", "router_interface", {
    "router": Prop("string", required=True), "subnet": Prop("string"), "port": Prop("string")}, ())
SecurityGroup = _type("OS::Neutron::SecurityGroup", "security_group", {
    "name": _NAME, "description": Prop("string", update_allowed=True),
    "rules": Prop("list", default=[], update_allowed=True)}, ("name", "rules"))
FloatingIP = _type("OS::Neutron::FloatingIP", "floating_ip", {
    "floating_network": Prop("string", required=True), "port_id": Prop("string", update_allowed=True),
    "fixed_ip_address": Prop("string", update_allowed=True), "floating_ip_address": Prop("string"),
    "value_specs": Prop("map"), "dns_name": Prop("string"), "dns_domain": Prop("string")},
    ("floating_ip_address", "fixed_ip_address", "port_id", "floating_network_id"))
FloatingIPAssociation = _type("OS::Neutron::FloatingIPAssociation", "floating_ip_association", {
    "floatingip_id": Prop("string", required=True, update_allowed=True),
    "port_id": Prop("string", required=True, update_allowed=True),
    "fixed_ip_address": Prop("string", update_allowed=True)}, ())
Volume = _type("OS::Cinder::Volume", "volume", {
    "name": _NAME, "size": Prop("integer", update_allowed=True), "description": Prop("string", update_allowed=True),
    "image": Prop("string"), "volume_type": Prop("string", update_allowed=True),
    "availability_zone": Prop("string"), "metadata": Prop("map", update_allowed=True),
    "source_volid": Prop("string"), "snapshot_id": Prop("string"),
    "read_only": Prop("boolean", update_allowed=True), "multiattach": Prop("boolean")},
    ("size", "status", "display_name", "attachments", "volume_type", "metadata"),
    (VolumeBackups, CloudResource))
VolumeAttachment = _type("OS::Cinder::VolumeAttachment", "volume_attachment", {
    "instance_uuid": Prop("string", required=True, update_allowed=True),
    "volume_id": Prop("string", required=True, update_allowed=True),
    "mountpoint": Prop("string", update_allowed=True)}, ())

TYPES = (Net, Subnet, Port, Router, RouterInterface, SecurityGroup, FloatingIP,
         FloatingIPAssociation, Volume, VolumeAttachment)
