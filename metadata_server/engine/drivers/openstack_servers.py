"""OS::Nova::Server properties in the shapes of Nova's create request: `networks` and
`block_device_mapping_v2`. Pure functions; names are turned into ids by the callables given.

What Heat does that a Nova request alone cannot (a port on a bare `subnet`, extra port
properties) is refused with an error naming the entry, rather than dropped.
"""
from __future__ import annotations

from typing import Callable

from metadata_server.engine.drivers.base import CloudError

NETWORK_KEYS = {"network", "uuid", "fixed_ip", "port", "floating_ip"}
UNSUPPORTED_NETWORK_KEYS = {
    "subnet": "give the subnet's network (and a fixed_ip in it), or a port on the subnet",
    "port_extra_properties": "create an OS::Neutron::Port with those properties instead",
    "allocate_network": "give a network or a port",
    "tag": "device tags are not sent by the openstack driver",
}
BDM_KEYS = {"device_name", "volume_id", "image", "image_id", "snapshot_id", "swap_size",
            "ephemeral_size", "ephemeral_format", "boot_index", "volume_size",
            "delete_on_termination", "disk_bus", "device_type"}


def nova_networks(entries: list[dict] | None, network_id: Callable[[str], str]) -> list[dict]:
    """Nova's `networks`: {port} or {uuid, fixed_ip}, in the template's order."""
    networks = []
    for index, entry in enumerate(entries or []):
        where = f"networks[{index}]"
        if not isinstance(entry, dict):
            raise CloudError(f"{where}: {entry!r} is not a map")
        for key in entry:
            if entry[key] is not None and key in UNSUPPORTED_NETWORK_KEYS:
                raise CloudError(f"{where}: {key} is not supported by the openstack driver; "
                                 f"{UNSUPPORTED_NETWORK_KEYS[key]}")
            if key not in NETWORK_KEYS and key not in UNSUPPORTED_NETWORK_KEYS:
                raise CloudError(f"{where}: unknown key {key!r}")
        network = entry.get("network") or entry.get("uuid")   # `uuid`: Heat's old name
        if entry.get("port"):
            networks.append({"port": entry["port"]})
        elif network:
            networks.append({k: v for k, v in (("uuid", network_id(network)),
                                               ("fixed_ip", entry.get("fixed_ip"))) if v})
        else:
            raise CloudError(f"{where}: needs a network or a port")
    return networks


def block_devices(entries: list[dict] | None, image_id: Callable[[str], str]) -> list[dict]:
    """Nova's `block_device_mapping_v2` from Heat's entries: a volume, snapshot or image as a
    volume, or a blank local swap or ephemeral disk."""
    mappings = []
    for index, entry in enumerate(entries or []):
        where = f"block_device_mapping_v2[{index}]"
        if not isinstance(entry, dict):
            raise CloudError(f"{where}: {entry!r} is not a map")
        unknown = set(entry) - BDM_KEYS
        if unknown:
            raise CloudError(f"{where}: unknown key {sorted(unknown)[0]!r}")
        image = entry.get("image") or entry.get("image_id")
        mapping: dict = {"destination_type": "volume"}
        if entry.get("volume_id"):
            mapping.update(source_type="volume", uuid=entry["volume_id"])
        elif entry.get("snapshot_id"):
            mapping.update(source_type="snapshot", uuid=entry["snapshot_id"])
        elif image:
            mapping.update(source_type="image", uuid=image_id(image))
        elif entry.get("swap_size"):
            mapping.update(source_type="blank", destination_type="local", guest_format="swap",
                           volume_size=entry["swap_size"], boot_index=-1)
        elif entry.get("ephemeral_size"):
            mapping.update(source_type="blank", destination_type="local",
                           volume_size=entry["ephemeral_size"], boot_index=-1,
                           guest_format=entry.get("ephemeral_format"))
        else:
            raise CloudError(f"{where}: needs one of volume_id, snapshot_id, image, swap_size "
                             "or ephemeral_size")
        for key in ("device_name", "boot_index", "volume_size", "delete_on_termination",
                    "disk_bus", "device_type"):
            if entry.get(key) is not None and key not in mapping:
                mapping[key] = entry[key]
        mappings.append({k: v for k, v in mapping.items() if v is not None})
    return mappings


def floating_ips(entries: list[dict] | None, sent: list[dict],
                 ports: list[dict]) -> list[tuple[str, str]]:
    """(floating IP id, port id) for each entry with a `floating_ip`: its own port, or the
    server's port on its network. `sent` is what nova_networks made of the entries."""
    pairs = []
    for index, (entry, nova) in enumerate(zip(entries or [], sent)):
        if not entry.get("floating_ip"):
            continue
        port = nova.get("port") or next(
            (p["id"] for p in ports if p.get("network_id") == nova.get("uuid")), None)
        if not port:
            raise CloudError(f"networks[{index}]: the server has no port on that network to "
                             f"associate floating IP {entry['floating_ip']} with")
        pairs.append((entry["floating_ip"], port))
    return pairs
