"""The openstack driver's Neutron calls: networks, subnets, ports, routers, security groups and
floating IPs, in the shapes Heat sends them."""
from __future__ import annotations

from metadata_server.engine.drivers.base import CloudError
from metadata_server.engine.drivers.openstack_base import OpenStackBase, clean


def _net_attributes(net) -> dict:
    return {"id": net.id, "name": net.name, "status": net.status,
            "subnets": net.subnet_ids or [], "mtu": net.mtu}


def _port_attributes(port) -> dict:
    fixed = port.fixed_ips or []
    return {"id": port.id, "name": port.name, "fixed_ips": fixed,
            "mac_address": port.mac_address, "network_id": port.network_id,
            "status": port.status, "first_address": fixed[0]["ip_address"] if fixed else None}


def _ip_attributes(ip) -> dict:
    return {"id": ip.id, "floating_ip_address": ip.floating_ip_address,
            "fixed_ip_address": ip.fixed_ip_address, "port_id": ip.port_id,
            "floating_network_id": ip.floating_network_id}


class NetworkCalls(OpenStackBase):
    def _create_net(self, name, p):
        net = self.conn.network.create_network(**clean({
            "name": name, "admin_state_up": p.get("admin_state_up"), "shared": p.get("shared"),
            "port_security_enabled": p.get("port_security_enabled")}))
        return net.id, _net_attributes(net)

    def _update_net(self, net_id, p):
        return _net_attributes(self.conn.network.update_network(net_id, **clean(p)))

    def _delete_net(self, net_id):
        self.conn.network.delete_network(net_id, ignore_missing=True)

    def _create_subnet(self, name, p):
        subnet = self.conn.network.create_subnet(**clean({
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
        port = self.conn.network.create_port(**clean({
            "name": name, "network_id": self._network_id(p["network"]),
            "fixed_ips": self._fixed_ips(p.get("fixed_ips")),
            "security_group_ids": self._security_groups(p.get("security_groups")) or None,
            "mac_address": p.get("mac_address"), "admin_state_up": p.get("admin_state_up")}))
        return port.id, _port_attributes(port)

    def _update_port(self, port_id, p):
        refused = sorted(set(p) - {"name", "admin_state_up", "fixed_ips", "security_groups"})
        if refused:
            raise CloudError(f"port {port_id}: changing {', '.join(refused)} in place is not "
                             "supported by the openstack driver")
        changes = clean({"name": p.get("name"), "admin_state_up": p.get("admin_state_up"),
                         "fixed_ips": self._fixed_ips(p.get("fixed_ips"))})
        if "security_groups" in p:
            changes["security_group_ids"] = self._security_groups(p["security_groups"])
        return _port_attributes(self.conn.network.update_port(port_id, **changes))

    def _delete_port(self, port_id):
        self.conn.network.delete_port(port_id, ignore_missing=True)

    def _create_router(self, name, p):
        router = self.conn.network.create_router(**clean({
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
        self._add_rules(group.id, rules)
        return group.id, {"id": group.id, "name": group.name, "rules": rules}

    def _add_rules(self, group_id, rules):
        for rule in rules:
            remote_group = rule.get("remote_group_id")
            if rule.get("remote_mode") == "remote_group_id" and not remote_group:
                remote_group = group_id   # Heat: no group given means this group itself
            self.conn.network.create_security_group_rule(security_group_id=group_id, **clean({
                "direction": rule.get("direction", "ingress"),
                "ethertype": rule.get("ethertype", "IPv4"), "protocol": rule.get("protocol"),
                "port_range_min": rule.get("port_range_min"),
                "port_range_max": rule.get("port_range_max"),
                "remote_ip_prefix": None if remote_group else rule.get("remote_ip_prefix"),
                "remote_group_id": remote_group}))

    def _update_security_group(self, group_id, p):
        network = self.conn.network
        if "rules" in p:
            # as Heat: the group's rules are replaced by the template's; with no egress rule
            # among them, Neutron's default allow-all egress rules come back
            for rule in network.get_security_group(group_id).security_group_rules or []:
                network.delete_security_group_rule(rule["id"], ignore_missing=True)
            rules = p["rules"] or []
            if not any(rule.get("direction") == "egress" for rule in rules):
                for ethertype in ("IPv4", "IPv6"):
                    network.create_security_group_rule(security_group_id=group_id,
                                                       direction="egress", ethertype=ethertype)
            self._add_rules(group_id, rules)
        names = clean({"name": p.get("name"), "description": p.get("description")})
        group = (network.update_security_group(group_id, **names) if names
                 else network.get_security_group(group_id))
        return {"id": group.id, "name": group.name, **({"rules": p["rules"]} if "rules" in p else {})}

    def _delete_security_group(self, group_id):
        self.conn.network.delete_security_group(group_id, ignore_missing=True)

    # -- what AWS::EC2::EIP needs besides the kinds --------------------------------------------
    def external_network(self) -> str:
        """As Heat finds it for an EIP: the one network with router:external."""
        found = [net.id for net in self.conn.network.networks(is_router_external=True)]
        if len(found) != 1:
            raise CloudError(f"Expected 1 external network, found {len(found)}")
        return found[0]

    def server_port(self, server_id: str) -> str:
        ports = [port.id for port in self.conn.network.ports(device_id=server_id)]
        if not ports:
            raise CloudError(f"server {server_id} has no port to associate an address with")
        return ports[0]

    def find_floating_ip(self, address: str):
        return next((ip.id for ip in self.conn.network.ips(floating_ip_address=address)), None)

    def _create_floating_ip(self, name, p):
        ip = self.conn.network.create_ip(**clean({
            "floating_network_id": self._network_id(p["floating_network"]),
            "port_id": p.get("port_id"),
            "fixed_ip_address": p.get("fixed_ip_address")}))
        return ip.id, _ip_attributes(ip)

    def _update_floating_ip(self, ip_id, p):
        # a new port moves the address; none (null) dissociates it
        return _ip_attributes(self.conn.network.update_ip(ip_id, **{
            k: p[k] for k in ("port_id", "fixed_ip_address") if k in p}))

    def _delete_floating_ip(self, ip_id):
        self.conn.network.delete_ip(ip_id, ignore_missing=True)

    def _create_floating_ip_association(self, name, p):
        self.conn.network.update_ip(p["floatingip_id"], **clean({
            "port_id": p["port_id"], "fixed_ip_address": p.get("fixed_ip_address")}))
        return p["floatingip_id"], {}

    def _update_floating_ip_association(self, ip_id, p):
        if "floatingip_id" in p:
            raise CloudError(f"floating IP association {ip_id}: another floating IP is a new "
                             "association (replace it)")
        self.conn.network.update_ip(ip_id, **{k: p[k] for k in ("port_id", "fixed_ip_address")
                                              if k in p})
        return {}

    def _delete_floating_ip_association(self, ip_id):
        self.conn.network.update_ip(ip_id, port_id=None)
