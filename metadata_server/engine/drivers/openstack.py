"""The `openstack` driver: real clouds through openstacksdk (the `openstack` extra).

One method per kind, each a few sdk calls; waits (server ACTIVE, volume available) poll the cloud
with a bounded timeout. The connection comes from clouds.yaml (`cloud=`) or is handed in (tests
give one whose endpoints are a local replay of recorded HTTP exchanges).
"""
from __future__ import annotations

import base64

from metadata_server.engine.drivers import openstack_addresses, openstack_servers
from metadata_server.engine.drivers.base import CloudDriver, CloudError
from metadata_server.engine.drivers.openstack_alarms import AlarmCalls
from metadata_server.engine.drivers.openstack_base import clean, not_found
from metadata_server.engine.drivers.openstack_network import NetworkCalls
from metadata_server.engine.drivers.openstack_volumes import VolumeCalls

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


class OpenStackDriver(NetworkCalls, VolumeCalls, AlarmCalls, CloudDriver):
    """One seam over the cloud: Neutron calls (openstack_network.py), Cinder calls
    (openstack_volumes.py), Aodh alarms (openstack_alarms.py), Nova servers and key pairs
    here."""
    name = "openstack"

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
            if not_found(exc):
                return  # already gone
            raise CloudError(f"{kind} {physical_id}: {exc}") from None

    def show(self, kind, physical_id):
        finder = {"server": self.conn.compute.find_server, "net": self.conn.network.find_network,
                  "subnet": self.conn.network.find_subnet,
                  "volume": self.conn.block_storage.find_volume}.get(kind)
        found = finder(physical_id) if finder else None
        return found.to_dict() if found is not None else None

    def external_network(self):
        return _cloud_call("external network", super().external_network)

    def server_port(self, server_id):
        return _cloud_call(f"server {server_id}", super().server_port, server_id)

    def find_floating_ip(self, address):
        return _cloud_call(f"floating IP {address}", super().find_floating_ip, address)

    def backup_volume(self, volume_id, name):
        return _cloud_call(f"volume {volume_id}", super().backup_volume, volume_id, name)

    def delete_backup(self, backup_id):
        try:
            super().delete_backup(backup_id)
        except Exception as exc:
            raise CloudError(f"backup {backup_id}: {exc}") from None

    # -- servers and keys --------------------------------------------------------------------
    def _create_server(self, name, p):
        # Nova takes ids; a template may name the image, flavor and networks, as Heat resolves
        image = p.get("image")
        user_data = encode_user_data(name, p.get("user_data") or "")
        networks = openstack_servers.nova_networks(p.get("networks"), self._network_id)
        devices = openstack_servers.block_devices(
            p.get("block_device_mapping_v2"),
            lambda i: self._find(self.conn.image.find_image, "image", i))
        server = self.conn.compute.create_server(**clean({
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
                "instance_name": server.instance_name, "show": _nova_body(server)}

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
        pair = self.conn.compute.create_keypair(**clean({"name": name,
                                                         "public_key": p.get("public_key")}))
        return pair.name, {"public_key": pair.public_key, "private_key": pair.private_key}

    def _delete_keypair(self, name):
        self.conn.compute.delete_keypair(name, ignore_missing=True)


def _cloud_call(what: str, call, *args):
    """A call outside the create/update/delete seam, with its errors as CloudError."""
    try:
        return call(*args)
    except CloudError:
        raise
    except Exception as exc:  # sdk exceptions carry the cloud's message
        raise CloudError(f"{what}: {exc}") from None


def _nova_body(server) -> dict:
    """The server as Nova's GET showed it (Heat's `show`): the sdk keeps the body it read;
    its to_dict() would rename keys and add ones Nova never sent."""
    body = getattr(getattr(server, "_body", None), "attributes", None)
    if isinstance(body, dict):
        return dict(body)
    return server.to_dict(body=True, headers=False, computed=False, original_names=True, ignore_none=True)
