"""AWS::EC2::EIP, EIPAssociation, SecurityGroup, Volume and VolumeAttachment over the driver's
kinds (floating_ip, floating_ip_association, security_group, volume, volume_attachment), the
same objects the Neutron and Cinder types make, with Heat's AWS semantics on top.

What a driver cannot do (an external network to take an address from, a server's port, a
lookup by address) it says with drivers.base.Unsupported; the engine's failure reason names
the resource.
"""
from __future__ import annotations

import re

from metadata_server.engine.drivers.base import CloudError
from metadata_server.engine.errors import StackValidationFailed
from metadata_server.engine.resources.aws_instance import tag_map
from metadata_server.engine.resources.base import Prop, Resource
from metadata_server.engine.resources.volume_backup import VolumeBackups


def cloud_server_id(ctx, reference: str) -> str:
    """The cloud's id of a server named by its Ref: an instance (or SOFTWARE_CONFIG server) of
    this stack is known by its stoker server id and keeps the cloud's id in its data."""
    row = ctx.finder.find_resource(ctx.stack_id, reference)
    return ((row or {}).get("data") or {}).get("cloud_id") or reference


class ElasticIp(Resource):
    """A floating IP from the external network, associated with `InstanceId`'s first port.
    Its Ref is the address; AllocationId is the floating IP's id (as Heat)."""
    type_name = "AWS::EC2::EIP"
    properties_schema = {"Domain": Prop("string", allowed=("vpc",)),
                         "InstanceId": Prop("string", update_allowed=True)}
    attributes_schema = ("AllocationId",)

    def _port(self, instance: str | None) -> str | None:
        return self.ctx.driver.server_port(cloud_server_id(self.ctx, instance)) if instance else None

    def handle_create(self, token):
        spec = {"floating_network": self.ctx.driver.external_network(),
                "port_id": self._port(self.properties.get("InstanceId"))}
        self.physical_id, attributes = self.ctx.driver.create("floating_ip", self.physical_name(),
                                                              {k: v for k, v in spec.items() if v})
        self.data["address"] = attributes.get("floating_ip_address")

    def handle_update(self, new_properties, changed, token):
        self.properties = new_properties
        # a new instance moves the address; none dissociates it
        self.ctx.driver.update("floating_ip", self.physical_id, {
            "port_id": self._port(new_properties.get("InstanceId")), "fixed_ip_address": None})

    def handle_delete(self, token):
        if self.physical_id:
            self.ctx.driver.delete("floating_ip", self.physical_id)

    def reference_id(self):
        return self.data.get("address") or self.name

    def attribute(self, name):
        if name == "AllocationId":
            return self.physical_id
        return super().attribute(name)


class ElasticIpAssociation(Resource):
    """An EIP (by address or AllocationId) associated with an instance's first port or a
    given port (NetworkInterfaceId). Its Ref is its physical name, as Heat's."""
    type_name = "AWS::EC2::EIPAssociation"
    properties_schema = {"InstanceId": Prop("string", update_allowed=True),
                         "EIP": Prop("string", update_allowed=True),
                         "AllocationId": Prop("string", update_allowed=True),
                         "NetworkInterfaceId": Prop("string", update_allowed=True)}

    @classmethod
    def check(cls, name, properties):
        path = f"resources.{name}.properties"
        if bool(properties["EIP"]) == bool(properties["AllocationId"]):
            raise StackValidationFailed("Either 'EIP' or 'AllocationId' must be provided.", path)
        if properties["EIP"] and not properties["InstanceId"]:
            raise StackValidationFailed("Must specify 'InstanceId' if you specify 'EIP'.", path)
        if not properties["InstanceId"] and not properties["NetworkInterfaceId"]:
            raise StackValidationFailed("At least one of the following properties must be "
                                        "specified: InstanceId, NetworkInterfaceId", path)

    def _associate(self, props: dict) -> None:
        driver = self.ctx.driver
        floating = props["AllocationId"]
        if props["EIP"]:
            floating = driver.find_floating_ip(props["EIP"])
            if floating is None:
                raise CloudError(f"no floating IP has the address {props['EIP']} (EIP)")
        port = props["NetworkInterfaceId"] or driver.server_port(
            cloud_server_id(self.ctx, props["InstanceId"]))
        self.data["association"], _ = driver.create(
            "floating_ip_association", self.physical_name(),
            {"floatingip_id": floating, "port_id": port})

    def handle_create(self, token):
        self.physical_id = self.physical_name()
        self._associate(self.properties)

    def handle_update(self, new_properties, changed, token):
        # as Heat: the old association goes, the new one is made
        self.handle_delete(token)
        self.properties = new_properties
        self._associate(new_properties)

    def handle_delete(self, token):
        if self.data.get("association"):
            self.ctx.driver.delete("floating_ip_association", self.data.pop("association"))


def _port(value, path: str) -> int | None:
    """Neutron takes positive ports only: a negative one (AWS's -1, any) means none."""
    if value is None:
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise StackValidationFailed(f"{value!r} is not a port number", path) from None
    return number if number >= 0 else None


RULE_KEYS = {"CidrIp", "FromPort", "ToPort", "IpProtocol", "SourceSecurityGroupId",
             "SourceSecurityGroupName", "SourceSecurityGroupOwnerId"}


def neutron_rules(rules: list | None, direction: str, path: str) -> list[dict]:
    """AWS rules as the security_group kind's (OS::Neutron::SecurityGroup's) rules, as Heat
    converts them: with neither port given the CidrIp is dropped, a source group (id or name)
    is the remote group."""
    converted = []
    for index, rule in enumerate(rules or []):
        where = f"{path}[{index}]"
        if not isinstance(rule, dict):
            raise StackValidationFailed(f"{rule!r} is not a map", where)
        unknown = sorted(set(rule) - RULE_KEYS)
        if unknown:
            raise StackValidationFailed(f"Unknown Property {unknown[0]}", f"{where}.{unknown[0]}")
        low, high = _port(rule.get("FromPort"), f"{where}.FromPort"), \
            _port(rule.get("ToPort"), f"{where}.ToPort")
        no_ports = rule.get("FromPort") is None and rule.get("ToPort") is None
        converted.append({k: v for k, v in {
            "direction": direction, "ethertype": "IPv4",
            "protocol": None if rule.get("IpProtocol") in (None, "-1") else str(rule["IpProtocol"]),
            "port_range_min": low, "port_range_max": high,
            "remote_ip_prefix": None if no_ports else rule.get("CidrIp"),
            "remote_group_id": rule.get("SourceSecurityGroupId")
            or rule.get("SourceSecurityGroupName")}.items() if v is not None})
    return converted


class SecurityGroup(Resource):
    """A Neutron security group from AWS rules; its Ref is the group's id (Heat on Neutron)."""
    type_name = "AWS::EC2::SecurityGroup"
    properties_schema = {"GroupDescription": Prop("string", required=True),
                         "VpcId": Prop("string"),
                         "SecurityGroupIngress": Prop("list", update_allowed=True),
                         "SecurityGroupEgress": Prop("list", update_allowed=True)}

    @classmethod
    def check(cls, name, properties):
        cls._rules(name, properties)

    @staticmethod
    def _rules(name: str, properties: dict) -> list[dict]:
        path = f"resources.{name}.properties"
        return (neutron_rules(properties.get("SecurityGroupIngress"), "ingress",
                              f"{path}.SecurityGroupIngress")
                + neutron_rules(properties.get("SecurityGroupEgress"), "egress",
                                f"{path}.SecurityGroupEgress"))

    def handle_create(self, token):
        self.physical_id, attributes = self.ctx.driver.create(
            "security_group", self.physical_name(),
            {"description": self.properties["GroupDescription"],
             "rules": self._rules(self.name, self.properties)})

    def handle_update(self, new_properties, changed, token):
        self.properties = new_properties
        self.ctx.driver.update("security_group", self.physical_id,
                               {"rules": self._rules(self.name, new_properties)})

    def handle_delete(self, token):
        if self.physical_id:
            self.ctx.driver.delete("security_group", self.physical_id)


class Volume(VolumeBackups, Resource):
    """A Cinder volume; Tags become its metadata. The Ref is the volume's id."""
    type_name = "AWS::EC2::Volume"
    properties_schema = {"AvailabilityZone": Prop("string", required=True),
                         "Size": Prop("integer", range=(1, None)),
                         "SnapshotId": Prop("string"),
                         "Tags": Prop("list")}

    @classmethod
    def check(cls, name, properties):
        path = f"resources.{name}.properties"
        if properties.get("SnapshotId"):
            raise StackValidationFailed("SnapshotId (a volume backup to restore) is not "
                                        "supported by stoker yet", f"{path}.SnapshotId")
        tag_map(properties.get("Tags"), f"{path}.Tags")

    def spec(self) -> dict:
        spec = {"size": self.properties.get("Size"),
                "availability_zone": self.properties["AvailabilityZone"],
                "metadata": tag_map(self.properties.get("Tags"), "Tags") or None}
        return {k: v for k, v in spec.items() if v is not None}

    def handle_create(self, token):
        self.physical_id, attributes = self.ctx.driver.create(
            "volume", self.physical_name(), self.spec())

    def handle_delete(self, token):
        if self.physical_id:
            self.ctx.driver.delete("volume", self.physical_id)


class VolumeAttachment(Resource):
    """VolumeId attached to InstanceId at Device, through Nova; replaced on any change."""
    type_name = "AWS::EC2::VolumeAttachment"
    properties_schema = {"InstanceId": Prop("string", required=True),
                         "VolumeId": Prop("string", required=True),
                         "Device": Prop("string", required=True)}

    @classmethod
    def check(cls, name, properties):
        if not re.fullmatch(r"/dev/vd[b-z]", properties["Device"]):
            raise StackValidationFailed(f'"{properties["Device"]}" does not match pattern '
                                        '"/dev/vd[b-z]"', f"resources.{name}.properties.Device")

    def handle_create(self, token):
        self.physical_id, _ = self.ctx.driver.create("volume_attachment", self.physical_name(), {
            "instance_uuid": cloud_server_id(self.ctx, self.properties["InstanceId"]),
            "volume_id": self.properties["VolumeId"], "mountpoint": self.properties["Device"]})

    def handle_delete(self, token):
        if self.physical_id:
            self.ctx.driver.delete("volume_attachment", self.physical_id)


TYPES = (ElasticIp, ElasticIpAssociation, SecurityGroup, Volume, VolumeAttachment)
