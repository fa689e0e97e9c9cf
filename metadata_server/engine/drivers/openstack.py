"""The `openstack` driver: real clouds through openstacksdk (the `openstack` extra).

One method per kind, each a few sdk calls; waits (server ACTIVE, volume available) poll the cloud
with a bounded timeout. The connection comes from clouds.yaml (`cloud=`) or is handed in (tests
give one whose endpoints are a local replay of recorded HTTP exchanges).
"""
from __future__ import annotations

import base64
import time
from typing import Any, Callable

from metadata_server.engine.drivers import openstack_addresses, openstack_servers
from metadata_server.engine.drivers.base import CloudError


def _not_found(exc: Exception) -> bool:
    return type(exc).__name__ in ("NotFoundException", "ResourceNotFound")


def _server(server_id: str) -> Any:
    """A server known by id: the sdk otherwise looks the id up to tell a server from a volume."""
    from openstack.compute.v2.server import Server
    return Server(id=server_id)


def _clean(values: dict) -> dict:
    return {k: v for k, v in values.items() if v is not None}


# Nova refuses a user_data longer than this, counted on the base64 text it receives
NOVA_USER_DATA_LIMIT = 65535


def encode_user_data(name: str, text: str) -> str | None:
    """The user_data as Nova takes it: base64 of the UTF-8 text, as the resource built it."""
    if not text:
        return None
    encoded = base64.b64encode(text.encode("utf-8")).decode("ascii")
    if len(encoded) > NOVA_USER_DATA_LIMIT:
        raise CloudError(f"server {name}: user_data is {len(encoded)} bytes once base64-encoded "
                         f"({len(text.encode('utf-8'))} bytes of text); Nova accepts at most "
                         f"{NOVA_USER_DATA_LIMIT}")
    return encoded


# properties Heat changes on a live server by attaching interfaces or updating its ports
SERVER_NOT_IN_PLACE = {"networks", "security_groups"}


class OpenStackDriver:
    name = "openstack"

    def __init__(self, connection: Any = None, *, cloud: str | None = None,
                 wait_timeout: float = 600.0, poll_interval: float = 2.0,
                 sleep: Callable[[float], None] = time.sleep):
        if connection is None:
            import openstack  # the `openstack` extra; only this driver needs it
            connection = openstack.connect(cloud=cloud)
        self.conn = connection
        self.wait_timeout, self.poll_interval, self._sleep = wait_timeout, poll_interval, sleep

    # -- the seam ----------------------------------------------------------------------------
    def create(self, kind, name, properties, *, physical_id=None):
        try:
            return getattr(self, f"_create_{kind}")(name, properties)
        except CloudError:
            raise
        except Exception as exc:  # sdk exceptions carry the cloud's message
            raise CloudError(f"{kind} {name}: {exc}") from None

    def update(self, kind, physical_id, properties):
        try:
            handler = getattr(self, f"_update_{kind}", None)
            if handler is None:
                raise CloudError(f"{kind} cannot be updated in place by the openstack driver")
            return handler(physical_id, properties)
        except CloudError:
            raise
        except Exception as exc:
            raise CloudError(f"{kind} {physical_id}: {exc}") from None

    def delete(self, kind, physical_id):
        try:
            getattr(self, f"_delete_{kind}")(physical_id)
        except CloudError:
            raise
        except Exception as exc:
            if _not_found(exc):
                return  # already gone
            raise CloudError(f"{kind} {physical_id}: {exc}") from None

    def show(self, kind, physical_id):
        finder = {"server": self.conn.compute.find_server, "net": self.conn.network.find_network,
                  "volume": self.conn.block_storage.find_volume}.get(kind)
        found = finder(physical_id) if finder else None
        return found.to_dict() if found is not None else None

    # -- waits -------------------------------------------------------------------------------
    def _wait(self, read: Callable[[], Any], done: str, what: str) -> Any:
        deadline = time.monotonic() + self.wait_timeout
        while True:
            current = read()
            status = (current.status or "").upper()
            if status == done:
                return current
            if status.startswith("ERROR"):   # ERROR, ERROR_ATTACHING, ERROR_RESTORING ...
                fault = getattr(current, "fault", None) or {}
                detail = fault.get("message") if isinstance(fault, dict) else fault
                raise CloudError(f"{what} went to {status}" + (f": {detail}" if detail else ""))
            if time.monotonic() > deadline:
                raise CloudError(f"{what} still {status} after {self.wait_timeout:.0f} s")
            self._sleep(self.poll_interval)

    def _ready_or_deleted(self, read: Callable[[], Any], done: str, what: str,
                          delete: Callable[[], None], undone: str = "deleted") -> Any:
        """Wait for `done`; what never gets there is deleted before the error is raised, so a
        failed create leaves nothing in the cloud (the resource has no id to delete it by)."""
        try:
            return self._wait(read, done, what)
        except Exception as exc:  # noqa: BLE001 - whatever stopped the wait, undo the create
            try:
                delete()
            except Exception as cleanup:  # the first error is what the user must see
                raise CloudError(f"{exc}; deleting it failed too: {cleanup}") from None
            raise CloudError(f"{exc} ({undone})") from None

    def _wait_gone(self, read: Callable[[], Any], what: str) -> None:
        """Until the cloud answers 404: what depends on it (ports, volumes) can go after."""
        deadline = time.monotonic() + self.wait_timeout
        while True:
            try:
                current = read()
            except Exception as exc:
                if _not_found(exc):
                    return
                raise
            status = (current.status or "").upper()
            # a server in ERROR is deleted like any other; a volume may fail to be
            if status == "ERROR_DELETING":
                raise CloudError(f"{what} went to {status} while deleting")
            if time.monotonic() > deadline:
                raise CloudError(f"{what} still {status} after {self.wait_timeout:.0f} s")
            self._sleep(self.poll_interval)

    # -- names to ids ------------------------------------------------------------------------
    @staticmethod
    def _find(finder: Callable[..., Any], kind: str, name_or_id: str) -> str:
        try:
            return finder(name_or_id, ignore_missing=False).id
        except Exception as exc:
            if _not_found(exc):
                raise CloudError(f"{kind} {name_or_id!r} was not found (looked up by id, "
                                 "then name)") from None
            raise

    def _network_id(self, name_or_id: str) -> str:
        return self._find(self.conn.network.find_network, "network", name_or_id)

    def _subnet_id(self, name_or_id: str) -> str:
        return self._find(self.conn.network.find_subnet, "subnet", name_or_id)

    def _fixed_ips(self, entries: list[dict] | None) -> list[dict] | None:
        """Heat's {subnet (or subnet_id), ip_address} as Neutron's {subnet_id, ip_address}."""
        if entries is None:
            return None
        fixed = []
        for entry in entries:
            subnet = entry.get("subnet") or entry.get("subnet_id")
            fixed.append(_clean({"subnet_id": self._subnet_id(subnet) if subnet else None,
                                 "ip_address": entry.get("ip_address")}))
        return fixed

    def _gateway(self, info: dict | None) -> dict | None:
        """Heat's {network, enable_snat, external_fixed_ips} as Neutron's gateway info."""
        if not info:
            return None
        return _clean({"network_id": self._network_id(info.get("network")
                                                      or info.get("network_id")),
                       "enable_snat": info.get("enable_snat"),
                       "external_fixed_ips": self._fixed_ips(info.get("external_fixed_ips"))})

    # -- networks ----------------------------------------------------------------------------
    def _create_net(self, name, p):
        net = self.conn.network.create_network(**_clean({
            "name": name, "admin_state_up": p.get("admin_state_up"), "shared": p.get("shared"),
            "port_security_enabled": p.get("port_security_enabled")}))
        return net.id, {"id": net.id, "name": net.name, "status": net.status,
                        "subnets": net.subnet_ids or [], "mtu": net.mtu}

    def _update_net(self, net_id, p):
        net = self.conn.network.update_network(net_id, **_clean(p))
        return {"id": net.id, "name": net.name, "status": net.status}

    def _delete_net(self, net_id):
        self.conn.network.delete_network(net_id, ignore_missing=True)

    def _create_subnet(self, name, p):
        subnet = self.conn.network.create_subnet(**_clean({
            "name": name, "network_id": self._network_id(p["network"]), "cidr": p.get("cidr"),
            "ip_version": p.get("ip_version", 4), "enable_dhcp": p.get("enable_dhcp"),
            "gateway_ip": p.get("gateway_ip"), "dns_nameservers": p.get("dns_nameservers"),
            "allocation_pools": p.get("allocation_pools"), "host_routes": p.get("host_routes")}))
        return subnet.id, {"id": subnet.id, "name": subnet.name, "cidr": subnet.cidr,
                           "gateway_ip": subnet.gateway_ip, "ip_version": subnet.ip_version,
                           "network_id": subnet.network_id,
                           "allocation_pools": subnet.allocation_pools}

    def _delete_subnet(self, subnet_id):
        self.conn.network.delete_subnet(subnet_id, ignore_missing=True)

    def _create_port(self, name, p):
        port = self.conn.network.create_port(**_clean({
            "name": name, "network_id": self._network_id(p["network"]),
            "fixed_ips": self._fixed_ips(p.get("fixed_ips")),
            "security_group_ids": [self._find(self.conn.network.find_security_group,
                                              "security group", g)
                                   for g in p.get("security_groups") or []] or None,
            "mac_address": p.get("mac_address"), "admin_state_up": p.get("admin_state_up")}))
        fixed = port.fixed_ips or []
        return port.id, {"id": port.id, "name": port.name, "fixed_ips": fixed,
                         "mac_address": port.mac_address, "network_id": port.network_id,
                         "status": port.status,
                         "first_address": fixed[0]["ip_address"] if fixed else None}

    def _delete_port(self, port_id):
        self.conn.network.delete_port(port_id, ignore_missing=True)

    def _create_router(self, name, p):
        router = self.conn.network.create_router(**_clean({
            "name": name, "external_gateway_info": self._gateway(p.get("external_gateway_info")),
            "admin_state_up": p.get("admin_state_up")}))
        return router.id, {"id": router.id, "name": router.name, "status": router.status,
                           "external_gateway_info": router.external_gateway_info}

    def _delete_router(self, router_id):
        self.conn.network.delete_router(router_id, ignore_missing=True)

    def _create_router_interface(self, name, p):
        router = self.conn.network.get_router(p["router"])
        if p.get("subnet"):
            subnet = self._subnet_id(p["subnet"])
            self.conn.network.add_interface_to_router(router, subnet)
            return f"{p['router']}:subnet_id={subnet}", {}
        self.conn.network.add_interface_to_router(router, None, p["port"])
        return f"{p['router']}:port_id={p['port']}", {}

    def _delete_router_interface(self, interface_id):
        router_id, _, rest = interface_id.partition(":")
        key, _, value = rest.partition("=")
        router = self.conn.network.get_router(router_id)
        # positional: the keyword names changed between sdk releases
        if key == "subnet_id":
            self.conn.network.remove_interface_from_router(router, value)
        else:
            self.conn.network.remove_interface_from_router(router, None, value)

    def _create_security_group(self, name, p):
        network = self.conn.network
        group = network.create_security_group(name=name, description=p.get("description") or "")
        rules = p.get("rules") or []
        if any(rule.get("direction") == "egress" for rule in rules):
            # as Heat: egress rules of the template replace Neutron's allow-all defaults
            for rule in group.security_group_rules or []:
                if rule.get("direction") == "egress":
                    network.delete_security_group_rule(rule["id"], ignore_missing=True)
        for rule in rules:
            remote_group = rule.get("remote_group_id")
            if rule.get("remote_mode") == "remote_group_id" and not remote_group:
                remote_group = group.id   # Heat: no group given means this group itself
            network.create_security_group_rule(security_group_id=group.id, **_clean({
                "direction": rule.get("direction", "ingress"),
                "ethertype": rule.get("ethertype", "IPv4"), "protocol": rule.get("protocol"),
                "port_range_min": rule.get("port_range_min"),
                "port_range_max": rule.get("port_range_max"),
                "remote_ip_prefix": None if remote_group else rule.get("remote_ip_prefix"),
                "remote_group_id": remote_group}))
        return group.id, {"id": group.id, "name": group.name, "rules": rules}

    def _delete_security_group(self, group_id):
        self.conn.network.delete_security_group(group_id, ignore_missing=True)

    def _create_floating_ip(self, name, p):
        ip = self.conn.network.create_ip(**_clean({
            "floating_network_id": self._network_id(p["floating_network"]),
            "port_id": p.get("port_id"),
            "fixed_ip_address": p.get("fixed_ip_address")}))
        return ip.id, {"id": ip.id, "floating_ip_address": ip.floating_ip_address,
                       "fixed_ip_address": ip.fixed_ip_address, "port_id": ip.port_id,
                       "floating_network_id": ip.floating_network_id}

    def _delete_floating_ip(self, ip_id):
        self.conn.network.delete_ip(ip_id, ignore_missing=True)

    def _create_floating_ip_association(self, name, p):
        self.conn.network.update_ip(p["floatingip_id"], **_clean({
            "port_id": p["port_id"], "fixed_ip_address": p.get("fixed_ip_address")}))
        return p["floatingip_id"], {}

    def _delete_floating_ip_association(self, ip_id):
        self.conn.network.update_ip(ip_id, port_id=None)

    # -- volumes -----------------------------------------------------------------------------
    def _create_volume(self, name, p):
        volume = self.conn.block_storage.create_volume(**_clean({
            "name": name, "size": p.get("size"), "description": p.get("description"),
            "image_id": (self._find(self.conn.image.find_image, "image", p["image"])
                         if p.get("image") else None),
            "volume_type": p.get("volume_type"),
            "availability_zone": p.get("availability_zone"), "metadata": p.get("metadata")}))
        volume_id = volume.id
        volume = self._ready_or_deleted(lambda: self.conn.block_storage.get_volume(volume_id),
                                        "AVAILABLE", f"volume {volume_id}",
                                        lambda: self._delete_volume(volume_id))
        return volume.id, {"id": volume.id, "size": volume.size, "status": volume.status,
                           "display_name": volume.name, "volume_type": volume.volume_type,
                           "metadata": volume.metadata, "attachments": volume.attachments}

    def _delete_volume(self, volume_id):
        self.conn.block_storage.delete_volume(volume_id, ignore_missing=True)

    def _create_volume_attachment(self, name, p):
        attachment = self.conn.compute.create_volume_attachment(
            _server(p["instance_uuid"]), p["volume_id"], **_clean({"device": p.get("mountpoint")}))
        volume_id = attachment.volume_id or p["volume_id"]
        self._ready_or_deleted(
            lambda: self.conn.block_storage.get_volume(volume_id), "IN-USE", f"volume {volume_id}",
            lambda: self.conn.compute.delete_volume_attachment(
                _server(p["instance_uuid"]), volume_id, ignore_missing=True),
            "detached")
        return f"{p['instance_uuid']}:{volume_id}", {"device": attachment.device}

    def _delete_volume_attachment(self, attachment_id):
        server_id, _, volume_id = attachment_id.partition(":")
        self.conn.compute.delete_volume_attachment(_server(server_id), volume_id,
                                                   ignore_missing=True)
        # the volume can be deleted, or attached elsewhere, once it is detached
        self._wait(lambda: self.conn.block_storage.get_volume(volume_id), "AVAILABLE",
                   f"volume {volume_id}")

    # -- servers and keys --------------------------------------------------------------------
    def _create_server(self, name, p):
        # Nova takes ids; a template may name the image, flavor and networks, as Heat resolves
        image = p.get("image")
        user_data = encode_user_data(name, p.get("user_data") or "")
        networks = openstack_servers.nova_networks(p.get("networks"), self._network_id)
        devices = openstack_servers.block_devices(
            p.get("block_device_mapping_v2"),
            lambda i: self._find(self.conn.image.find_image, "image", i))
        server = self.conn.compute.create_server(**_clean({
            "name": name,
            "flavor_id": self._find(self.conn.compute.find_flavor, "flavor", p["flavor"]),
            "image_id": self._find(self.conn.image.find_image, "image", image) if image else None,
            "networks": networks or None, "block_device_mapping": devices or None,
            "key_name": p.get("key_name"), "metadata": p.get("metadata"),
            "config_drive": p.get("config_drive"), "admin_password": p.get("admin_pass"),
            "availability_zone": p.get("availability_zone"),
            "security_groups": [{"name": g} for g in p.get("security_groups") or []] or None,
            "user_data": user_data}))
        server_id = server.id
        server = self._ready_or_deleted(lambda: self.conn.compute.get_server(server_id),
                                        "ACTIVE", f"server {server_id}",
                                        lambda: self._delete_server(server_id))
        ports = [port.to_dict(computed=False)
                 for port in self.conn.network.ports(device_id=server.id)]
        for ip_id, port_id in openstack_servers.floating_ips(p.get("networks"), networks, ports):
            self.conn.network.update_ip(ip_id, port_id=port_id)
        return server.id, self._server_attributes(server, ports)

    def _server_attributes(self, server, ports: list[dict]) -> dict:
        network = self.conn.network
        addresses, networks = openstack_addresses.server_addresses(
            server.addresses or {}, ports,
            network=lambda i: network.get(f"/networks/{i}").json()["network"],
            subnet=lambda i: network.get(f"/subnets/{i}").json()["subnet"])
        return {"id": server.id, "name": server.name, "addresses": addresses,
                "networks": networks,
                "first_address": openstack_addresses.first_address(server.addresses),
                "accessIPv4": server.access_ipv4 or "",
                "instance_name": server.instance_name}

    def _update_server(self, server_id, p):
        compute = self.conn.compute
        refused = sorted(set(p) & SERVER_NOT_IN_PLACE)
        if refused:
            raise CloudError(f"server {server_id}: changing {', '.join(refused)} in place is not "
                             "supported by the openstack driver (replace the server instead)")
        if p.get("flavor") is not None:
            # as Heat: resize, then confirm once Nova asks for it
            compute.resize_server(server_id, self._find(compute.find_flavor, "flavor",
                                                        p["flavor"]))
            self._wait(lambda: compute.get_server(server_id), "VERIFY_RESIZE",
                       f"server {server_id}")
            compute.confirm_server_resize(server_id)
        if p.get("image") is not None:
            # image_update_policy REBUILD, Heat's default
            compute.rebuild_server(server_id, self._find(self.conn.image.find_image, "image",
                                                         p["image"]))
        if "metadata" in p:
            # Nova's PUT replaces the whole set, as a template's new metadata does
            compute.put(f"/servers/{server_id}/metadata",
                        json={"metadata": p["metadata"] or {}}).raise_for_status()
        if p.get("name") is not None:
            compute.update_server(server_id, name=p["name"])
        server = self._wait(lambda: compute.get_server(server_id), "ACTIVE", f"server {server_id}")
        return {"id": server.id, "name": server.name}

    def _delete_server(self, server_id):
        self.conn.compute.delete_server(server_id, ignore_missing=True)
        # its ports and volumes are only free once it is gone
        self._wait_gone(lambda: self.conn.compute.get_server(server_id), f"server {server_id}")

    def _create_keypair(self, name, p):
        pair = self.conn.compute.create_keypair(**_clean({"name": name,
                                                          "public_key": p.get("public_key")}))
        return pair.name, {"public_key": pair.public_key, "private_key": pair.private_key}

    def _delete_keypair(self, name):
        self.conn.compute.delete_keypair(name, ignore_missing=True)
