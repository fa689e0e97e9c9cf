"""A Nova server's `addresses`, `networks` and `first_address` attributes in Heat's shapes.

Nova's `addresses` is keyed by network label: {label: [{addr, version, OS-EXT-IPS:type,
OS-EXT-IPS-MAC:mac_addr}]}. Heat extends it from Neutron:
- each address gets `port` (the id of the server's port with that MAC address, or None),
  `network` (that port's network, as Neutron shows it) and `subnets` (the subnets of the port's
  fixed IPs, as Neutron shows them);
- every label is also present under its network's id, so templates can look addresses up by
  either: `{get_attr: [server, addresses, <name or id>, 0, port]}`.
`networks` is {label: [addr, ...]} with the same id keys. Pure functions: the driver fetches.
"""
from __future__ import annotations

import copy
from typing import Callable, Iterable

MAC = "OS-EXT-IPS-MAC:mac_addr"


def _port_for(address: dict, ports: list[dict]) -> dict | None:
    mac = address.get(MAC)
    by_mac = [p for p in ports if mac and p.get("mac_address") == mac]
    exact = [p for p in by_mac
             if any(ip.get("ip_address") == address.get("addr") for ip in p.get("fixed_ips") or [])]
    # a floating address shares the MAC of the port it is associated with
    return (exact or by_mac or [None])[0]


def _with_ids(by_label: dict, label_ids: dict) -> dict:
    extended = dict(by_label)
    for label, net_id in label_ids.items():
        if net_id and net_id not in extended:
            extended[net_id] = by_label[label]
    return extended


def server_addresses(addresses: dict, ports: list[dict], network: Callable[[str], dict],
                     subnet: Callable[[str], dict]) -> tuple[dict, dict]:
    """(addresses, networks) as Heat resolves them. `ports` are the server's Neutron ports (raw
    API dicts); `network(id)` and `subnet(id)` show one (raw API dicts), each asked once."""
    shown: dict[tuple[str, str], dict] = {}

    def once(kind: str, ident: str, show: Callable[[str], dict]) -> dict:
        if (kind, ident) not in shown:
            shown[kind, ident] = show(ident)
        return shown[kind, ident]

    extended, label_ids = {}, {}
    for label, entries in (addresses or {}).items():
        extended[label] = []
        for entry in entries:
            entry = copy.deepcopy(entry)
            port = _port_for(entry, ports)
            entry["port"] = port["id"] if port else None
            if port:
                label_ids.setdefault(label, port.get("network_id"))
                entry["network"] = once("network", port["network_id"], network)
                entry["subnets"] = [once("subnet", ip["subnet_id"], subnet)
                                    for ip in port.get("fixed_ips") or [] if ip.get("subnet_id")]
            extended[label].append(entry)
    networks = {label: [e["addr"] for e in entries] for label, entries in extended.items()}
    return _with_ids(extended, label_ids), _with_ids(networks, label_ids)


def first_address(addresses: dict) -> str | None:
    """The first fixed IPv4 address, else the first address at all (Heat's deprecated attribute)."""
    entries: Iterable[dict] = [e for v in (addresses or {}).values() for e in v]
    entries = list(entries)
    fixed_v4 = [e["addr"] for e in entries
                if e.get("version") == 4 and e.get("OS-EXT-IPS:type", "fixed") == "fixed"]
    return (fixed_v4 or [e["addr"] for e in entries] or [None])[0]
