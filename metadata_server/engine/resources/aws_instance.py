"""AWS::EC2::Instance: an OS::Nova::Server under CloudFormation's property names.

The properties are translated to the server plugin's (servers.py) and everything else is the
server's: the driver call, the registered stoker server with its own EC2 key pair, the agent's
collector settings (POLL_SERVER_CFN, pointing at `<instance>.Metadata`), and the resource's
`Metadata`, served to the agent the way an OS::Nova::Server's is. What Heat adds around the
server is done here with the driver's other kinds: a port on `SubnetId` (carrying the security
groups, as Heat makes it) and the `Volumes` attached once the server is up.

`UserData` is the text as the template gives it: `Fn::Base64` returns its argument unchanged in
Heat, and Heat never decodes UserData; stoker boots it as the user's part in front of the
agent's own (the server plugin's SOFTWARE_CONFIG user_data).
"""
from __future__ import annotations

from metadata_server.engine.drivers.base import CloudError
from metadata_server.engine.errors import StackValidationFailed, UpdateReplace
from metadata_server.engine.resources.base import Prop
from metadata_server.engine.resources.servers import Server

# properties Heat declares but has never implemented: giving one is an error, as in Heat
NOT_IMPLEMENTED = ("DisableApiTermination", "KernelId", "Monitoring", "PlacementGroupName",
                   "PrivateIpAddress", "RamDiskId", "SourceDestCheck", "Tenancy")
ADDRESS_ATTRIBUTES = ("PublicIp", "PrivateIp", "PublicDnsName", "PrivateDnsName")


def tag_map(tags: list | None, path: str) -> dict:
    """CloudFormation's [{Key, Value}] as the map Nova (and Cinder) metadata is."""
    result = {}
    for index, tag in enumerate(tags or []):
        if not isinstance(tag, dict) or set(tag) != {"Key", "Value"}:
            raise StackValidationFailed("each tag must be {Key: ..., Value: ...}",
                                        f"{path}[{index}]")
        result[str(tag["Key"])] = str(tag["Value"])
    return result


def first_address(addresses: dict) -> str:
    """Heat's address of an instance: the first address of the last network label in sorted
    order (it walks the labels in reverse), 0.0.0.0 when there is none."""
    for label in sorted(addresses or {}, reverse=True):
        entries = addresses[label] or []
        if entries:
            entry = entries[0]
            return entry.get("addr") if isinstance(entry, dict) else str(entry)
    return "0.0.0.0"


class Instance(Server):
    type_name = "AWS::EC2::Instance"
    properties_schema = {
        "ImageId": Prop("string", required=True),
        "InstanceType": Prop("string", required=True, update_allowed=True),
        "KeyName": Prop("string"),
        "AvailabilityZone": Prop("string"),
        "SecurityGroups": Prop("list"),
        "SecurityGroupIds": Prop("list"),
        "NetworkInterfaces": Prop("list"),
        "SubnetId": Prop("string"),
        "Tags": Prop("list", update_allowed=True),
        "NovaSchedulerHints": Prop("list"),
        "UserData": Prop("string"),
        "Volumes": Prop("list", default=[]),
        "BlockDeviceMappings": Prop("list"),
        **{key: Prop("any") for key in NOT_IMPLEMENTED},
    }
    attributes_schema = ("AvailabilityZone", *ADDRESS_ATTRIBUTES)

    @classmethod
    def check(cls, name, properties):
        path = f"resources.{name}.properties"
        for key in NOT_IMPLEMENTED:
            if properties.get(key) is not None:
                raise StackValidationFailed(f"Property {key} not implemented yet",
                                            f"{path}.{key}")
        for key in ("NovaSchedulerHints", "BlockDeviceMappings"):
            if properties.get(key):
                raise StackValidationFailed(f"{key} is not supported by stoker yet: "
                                            "leave it out", f"{path}.{key}")
        tag_map(properties.get("Tags"), f"{path}.Tags")
        for index, volume in enumerate(properties.get("Volumes") or []):
            if not isinstance(volume, dict) or set(volume) != {"Device", "VolumeId"}:
                raise StackValidationFailed("each volume must be {Device: ..., VolumeId: ...}",
                                            f"{path}.Volumes[{index}]")
        cls._interfaces(properties.get("NetworkInterfaces"), f"{path}.NetworkInterfaces")

    @staticmethod
    def _interfaces(entries: list | None, path: str) -> list[str]:
        """Port ids in DeviceIndex order: an entry is a port id or {NetworkInterfaceId,
        DeviceIndex}."""
        ordered = []
        for index, entry in enumerate(entries or []):
            if isinstance(entry, str):
                ordered.append((index, entry))
            elif isinstance(entry, dict) and set(entry) == {"NetworkInterfaceId", "DeviceIndex"}:
                try:
                    ordered.append((int(entry["DeviceIndex"]), str(entry["NetworkInterfaceId"])))
                except (TypeError, ValueError):
                    raise StackValidationFailed(f"DeviceIndex {entry['DeviceIndex']!r} is not "
                                                "an integer", f"{path}[{index}]") from None
            else:
                raise StackValidationFailed("each network interface must be a port id or "
                                            "{NetworkInterfaceId: ..., DeviceIndex: ...}",
                                            f"{path}[{index}]")
        return [port for _, port in sorted(ordered, key=lambda pair: pair[0])]

    # -- the server it is --------------------------------------------------------------------
    def _groups(self) -> list[str]:
        props = self.properties
        return list(props.get("SecurityGroups") or []) + list(props.get("SecurityGroupIds") or [])

    def server_properties(self) -> dict:
        props = self.properties
        ports = self._interfaces(props.get("NetworkInterfaces"), "NetworkInterfaces")
        if not ports and self.data.get("subnet_port"):
            ports = [self.data["subnet_port"]]
        server = {"name": None, "image": props["ImageId"], "flavor": props["InstanceType"],
                  "key_name": props.get("KeyName"),
                  "availability_zone": props.get("AvailabilityZone"),
                  "metadata": tag_map(props.get("Tags"), "Tags") or None,
                  "networks": [{"port": p} for p in ports],
                  # a port given or made here carries its own groups (Nova sets none on it)
                  "security_groups": [] if ports else self._groups(),
                  "user_data": props.get("UserData") or "",
                  "user_data_format": "SOFTWARE_CONFIG",
                  "software_config_transport": "POLL_SERVER_CFN"}
        return server

    def handle_create(self, token):
        props = self.properties
        if props.get("SubnetId") and not props.get("NetworkInterfaces"):
            self._make_subnet_port(props["SubnetId"])
        super().handle_create(token)
        self.checkpoint()   # a failed attachment still leaves the server to delete
        self.data["attachments"] = []
        for volume in props.get("Volumes") or []:
            token.check()
            attachment_id, _ = self.ctx.driver.create(
                "volume_attachment", f"{self.data['name']}-{volume['Device']}",
                {"instance_uuid": self.data["cloud_id"], "volume_id": volume["VolumeId"],
                 "mountpoint": volume["Device"]})
            self.data["attachments"].append(attachment_id)
            self.checkpoint()

    def _make_subnet_port(self, subnet: str) -> None:
        """As Heat: a port on the subnet's network with a fixed IP in it and the groups."""
        shown = self.ctx.driver.show("subnet", subnet)
        if not shown or not shown.get("network_id"):
            raise CloudError(f"subnet {subnet} (SubnetId) could not be found")
        port_id, _ = self.ctx.driver.create("port", self.physical_name(), {
            "network": shown["network_id"], "fixed_ips": [{"subnet": subnet}],
            "security_groups": self._groups() or None})
        self.data["subnet_port"] = port_id
        self.checkpoint()

    def handle_update(self, new_properties, changed, token):
        changes = {}
        if "InstanceType" in changed:
            changes["flavor"] = new_properties["InstanceType"]
        if "Tags" in changed:
            changes["metadata"] = tag_map(new_properties.get("Tags"), "Tags")
        if set(changed) - {"InstanceType", "Tags"}:
            raise UpdateReplace()
        self.properties = new_properties
        attributes = self.ctx.driver.update("server", self.data.get("cloud_id", self.physical_id),
                                            changes)
        self.data["attributes"] = {**self.data.get("attributes", {}),
                                   **{k: v for k, v in attributes.items()
                                      if k not in ("user_data", "os_collect_config")}}

    def handle_delete(self, token):
        for attachment_id in reversed(self.data.get("attachments") or []):
            self.ctx.driver.delete("volume_attachment", attachment_id)
        super().handle_delete(token)
        if self.data.get("subnet_port"):
            self.ctx.driver.delete("port", self.data["subnet_port"])

    # -- what others see ---------------------------------------------------------------------
    def attribute(self, name):
        if name in ADDRESS_ATTRIBUTES:
            current = (self.ctx.driver.server_addresses(self.data["cloud_id"])
                       if "cloud_id" in self.data else None)
            shown = (self.data.get("attributes") or {}).get("show") or {}
            addresses = shown.get("addresses")
            if current is not None:
                # Nova's labels only: Heat reads server.networks, which has no id keys
                addresses = {label: entries for label, entries in current["addresses"].items()
                             if not any((e.get("network") or {}).get("id") == label
                                        != (e.get("network") or {}).get("name")
                                        for e in entries)}
            return first_address(addresses) if self.physical_id else None
        if name == "AvailabilityZone":
            if not self.physical_id:
                return None
            shown = (self.data.get("attributes") or {}).get("show") or {}
            return (shown.get("OS-EXT-AZ:availability_zone")
                    or self.properties.get("AvailabilityZone") or "nova")
        return super().attribute(name)
