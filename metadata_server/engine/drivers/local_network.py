"""The local driver's networking: fixed IPs from its subnets' CIDRs and allocation pools, ports,
floating IPs, and a server's `addresses` / `networks` / `first_address` in Heat's shapes.

Everything here works on the records dict of local.py (id -> {"kind", "attributes", ...}) under
its file lock; nothing else is kept. An address is in use while a port record holds it, so
deleting a port (or the server that made it) frees its addresses. A network the local cloud has
no record of (`network: private` in a template written for a real cloud) is made on first use,
with one subnet on DEFAULT_CIDR, so such templates keep working.
"""
from __future__ import annotations

import ipaddress
import uuid
from typing import Any

from metadata_server.engine.drivers.base import CloudError

DEFAULT_CIDR = "10.0.0.0/24"
DEFAULT_NETWORK = "private"  # what a server with no `networks` is plugged into, as Nova's default
FLOATING_CIDR = "172.24.4.0/24"
MAC_PREFIX = "fa:16:3e"
NAMESPACE = uuid.UUID("0b3c64a0-2f0e-4a6f-9a53-1e1d7c1f2b90")

Records = dict[str, dict]


def find(records: Records, kind: str, ref: str | None) -> str | None:
    """The id of the `kind` record whose id or name is `ref`."""
    if not ref:
        return None
    if records.get(ref, {}).get("kind") == kind:
        return ref
    return next((i for i, r in records.items()
                 if r.get("kind") == kind and r["attributes"].get("name") == ref), None)


def subnet_attributes(records: Records, properties: dict) -> dict:
    """What a new subnet shows: its CIDR, gateway, pools (default: every host after the gateway)
    and the network it is on (made when the local cloud has none of that name)."""
    try:
        network = ipaddress.ip_network(properties.get("cidr") or DEFAULT_CIDR, strict=False)
    except ValueError as exc:
        raise CloudError(f"subnet cidr {properties.get('cidr')!r}: {exc}") from None
    hosts = network.hosts()
    gateway = properties.get("gateway_ip") or str(next(hosts))
    pools = properties.get("allocation_pools")
    if not pools:
        last = network.broadcast_address - 1 if network.version == 4 else network[-1]
        pools = [{"start": str(ipaddress.ip_address(gateway) + 1), "end": str(last)}]
    for index, pool in enumerate(pools):
        try:
            ends = [ipaddress.ip_address(pool["start"]), ipaddress.ip_address(pool["end"])]
        except (KeyError, TypeError, ValueError) as exc:
            raise CloudError(f"allocation_pools[{index}]: needs start and end addresses ({exc})") from None
        if not all(e in network for e in ends) or ends[0] > ends[1]:
            raise CloudError(f"allocation_pools[{index}]: {pool['start']}-{pool['end']} is not a "
                             f"range inside {network}")
    return {"cidr": str(network), "gateway_ip": gateway, "ip_version": network.version,
            "allocation_pools": pools,
            "network_id": network_id(records, properties.get("network") or DEFAULT_NETWORK)}


def network_id(records: Records, ref: str) -> str:
    """The id of network `ref` (id or name), made with a DEFAULT_CIDR subnet when unknown."""
    found = find(records, "net", ref)
    if found:
        return found
    net_id = str(uuid.uuid5(NAMESPACE, f"net/{ref}"))
    subnet_id = str(uuid.uuid5(NAMESPACE, f"subnet/{ref}"))
    records[net_id] = {"kind": "net", "implicit": True,
                       "attributes": {"id": net_id, "name": ref, "status": "ACTIVE",
                                      "subnets": [subnet_id], "mtu": 1450}}
    attributes = subnet_attributes(records, {"network": net_id})
    records[subnet_id] = {"kind": "subnet", "implicit": True,
                          "attributes": {"id": subnet_id, "name": f"{ref}-subnet", **attributes}}
    return net_id


def add_subnet(records: Records, subnet: dict) -> None:
    net = records.get(subnet["network_id"])
    if net is not None:
        net["attributes"].setdefault("subnets", []).append(subnet["id"])


def remove(records: Records, kind: str, ident: str) -> None:
    """Forget what refers to a deleted record: a subnet in its network, a server's own ports,
    an association in its floating IP."""
    record = records.get(ident) or {}
    if kind == "subnet":
        net = records.get(record.get("attributes", {}).get("network_id")) or {}
        subnets = net.get("attributes", {}).get("subnets") or []
        if ident in subnets:
            subnets.remove(ident)
    if kind == "server":
        for port_id in [i for i, r in records.items() if r.get("owner") == ident]:
            records.pop(port_id, None)
    if kind == "floating_ip_association":
        floating = records.get(record.get("attributes", {}).get("floatingip_id") or "")
        if floating is not None:
            floating["attributes"].update(port_id=None, fixed_ip_address=None)


def _in_use(records: Records) -> set[str]:
    return {ip.get("ip_address") for r in records.values() if r.get("kind") == "port"
            for ip in r["attributes"].get("fixed_ips") or []}


def _allocate(records: Records, subnet_id: str, wanted: str | None, used: set[str]) -> str:
    subnet = records[subnet_id]["attributes"]
    if wanted:
        if ipaddress.ip_address(wanted) not in ipaddress.ip_network(subnet["cidr"]):
            raise CloudError(f"IP address {wanted} is not in subnet {subnet['cidr']}")
        if wanted in used:
            raise CloudError(f"IP address {wanted} is already allocated in subnet {subnet_id}")
        return wanted
    for pool in subnet["allocation_pools"]:
        address, end = ipaddress.ip_address(pool["start"]), ipaddress.ip_address(pool["end"])
        while address <= end:
            if str(address) not in used:
                return str(address)
            address += 1
    raise CloudError(f"No more IP addresses available on subnet {subnet_id} ({subnet['cidr']})")


def _mac(records: Records) -> str:
    taken = {r["attributes"].get("mac_address") for r in records.values() if r.get("kind") == "port"}
    for number in range(1, 1 << 24):
        mac = "%s:%02x:%02x:%02x" % (MAC_PREFIX, number >> 16 & 255, number >> 8 & 255, number & 255)
        if mac not in taken:
            return mac
    raise CloudError("no free MAC address")


def port_attributes(records: Records, properties: dict) -> dict:
    """A port's fixed IPs (given, or allocated on its network's subnets) and MAC address."""
    net_id = network_id(records, properties.get("network") or DEFAULT_NETWORK)
    subnets = records[net_id]["attributes"].get("subnets") or []
    wanted = properties.get("fixed_ips") or [{}]
    used, fixed = _in_use(records), []
    for index, entry in enumerate(wanted):
        entry = entry if isinstance(entry, dict) else {}
        subnet_id = find(records, "subnet", entry.get("subnet") or entry.get("subnet_id"))
        if subnet_id is None:
            if not subnets:
                raise CloudError(f"fixed_ips[{index}]: network {net_id} has no subnet")
            ip = entry.get("ip_address")
            subnet_id = next((s for s in subnets if ip and ipaddress.ip_address(ip) in
                              ipaddress.ip_network(records[s]["attributes"]["cidr"])), subnets[0])
        address = _allocate(records, subnet_id, entry.get("ip_address"), used)
        used.add(address)
        fixed.append({"subnet_id": subnet_id, "ip_address": address})
    return {"network_id": net_id, "fixed_ips": fixed, "first_address": fixed[0]["ip_address"],
            "mac_address": properties.get("mac_address") or _mac(records), "status": "ACTIVE"}


def floating_ip_attributes(records: Records, properties: dict) -> dict:
    taken = {r["attributes"].get("floating_ip_address") for r in records.values()
             if r.get("kind") == "floating_ip"}
    address = properties.get("floating_ip_address") or next(
        (str(a) for a in list(ipaddress.ip_network(FLOATING_CIDR).hosts())[1:]  # .1: the router
         if str(a) not in taken), None)
    if address is None:
        raise CloudError(f"No more floating IP addresses available in {FLOATING_CIDR}")
    attributes = {"floating_ip_address": address,
                  "floating_network_id": find(records, "net", properties.get("floating_network"))
                  or properties.get("floating_network")}
    attributes.update(association(records, properties))
    return attributes


def association(records: Records, properties: dict) -> dict:
    """port_id and fixed_ip_address of a floating IP associated with a port (none: unassociated)."""
    port_id = properties.get("port_id")
    if not port_id:
        return {"port_id": None, "fixed_ip_address": None}
    port = records.get(port_id)
    if port is None or port.get("kind") != "port":
        raise CloudError(f"Port {port_id} could not be found")
    fixed = [ip["ip_address"] for ip in port["attributes"].get("fixed_ips") or []]
    wanted = properties.get("fixed_ip_address")
    if wanted and wanted not in fixed:
        raise CloudError(f"Port {port_id} does not have fixed IP {wanted}")
    return {"port_id": port_id, "fixed_ip_address": wanted or (fixed or [None])[0]}


def server_ports(records: Records, server_id: str, networks: list | None) -> list[str]:
    """The server's ports, in its `networks` order: a given port, or one made on the network."""
    ports = []
    for index, entry in enumerate(networks or [{"network": DEFAULT_NETWORK}]):
        if not isinstance(entry, dict):
            raise CloudError(f"networks[{index}]: {entry!r} is not a map")
        if entry.get("port"):
            port_id = find(records, "port", entry["port"])
            if port_id is None:
                raise CloudError(f"networks[{index}]: port {entry['port']} could not be found")
            records[port_id]["attributes"]["device_id"] = server_id
            ports.append(port_id)
            continue
        net_ref = entry.get("network") or entry.get("uuid")
        if not net_ref and entry.get("subnet"):
            subnet_id = find(records, "subnet", entry["subnet"])
            if subnet_id is None:
                raise CloudError(f"networks[{index}]: subnet {entry['subnet']} could not be found")
            net_ref = records[subnet_id]["attributes"]["network_id"]
        fixed = {k: v for k, v in (("ip_address", entry.get("fixed_ip")),
                                   ("subnet", entry.get("subnet"))) if v}
        attributes = port_attributes(records, {"network": net_ref or DEFAULT_NETWORK,
                                               "fixed_ips": [fixed]})
        port_id = str(uuid.uuid5(NAMESPACE, f"port/{server_id}/{index}"))
        records[port_id] = {"kind": "port", "owner": server_id, "attributes": {
            "id": port_id, "name": "", "device_id": server_id, **attributes}}
        ports.append(port_id)
    return ports


def server_addresses(records: Records, port_ids: list[str]) -> dict[str, Any]:
    """`addresses`, `networks` and `first_address` as Heat shows them: keyed by network name,
    and by network id too; floating IPs associated with a port follow its fixed IPs."""
    addresses: dict[str, list] = {}
    ids: dict[str, str] = {}
    for port_id in port_ids:
        port = records.get(port_id, {}).get("attributes")
        if port is None:
            continue
        net = records.get(port["network_id"], {}).get("attributes", {})
        label = net.get("name") or port["network_id"]
        ids[label] = port["network_id"]
        entries = addresses.setdefault(label, [])
        floating = [r["attributes"]["floating_ip_address"] for r in records.values()
                    if r.get("kind") == "floating_ip" and r["attributes"].get("port_id") == port_id]
        subnets = [records[ip["subnet_id"]]["attributes"] for ip in port["fixed_ips"]
                   if ip["subnet_id"] in records]
        for kind, addr in [("fixed", ip["ip_address"]) for ip in port["fixed_ips"]] + \
                [("floating", a) for a in floating]:
            entries.append({"addr": addr, "version": ipaddress.ip_address(addr).version,
                            "OS-EXT-IPS:type": kind, "OS-EXT-IPS-MAC:mac_addr": port["mac_address"],
                            "port": port_id, "network": dict(net), "subnets": subnets})
    networks = {label: [e["addr"] for e in entries] for label, entries in addresses.items()}
    for label, net_id in ids.items():
        addresses.setdefault(net_id, addresses[label])
        networks.setdefault(net_id, networks[label])
    fixed_v4 = [e["addr"] for v in addresses.values() for e in v
                if e["version"] == 4 and e["OS-EXT-IPS:type"] == "fixed"]
    return {"addresses": addresses, "networks": networks,
            "first_address": fixed_v4[0] if fixed_v4 else None}
