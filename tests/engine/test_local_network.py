"""The local driver's networking: fixed IPs from subnets' CIDRs and allocation pools, ports,
floating IPs associated through port_id, and servers' attributes in Heat's shapes."""
from __future__ import annotations

import pytest

from metadata_server.engine.drivers.base import CloudError
from metadata_server.engine.drivers.local import LocalDriver
from metadata_server.engine.stack import Engine
from metadata_server.service.clock import system_clock

from engine_helpers import ENDPOINTS, hot, run

NETWORK = {
    "net": {"type": "OS::Neutron::Net", "properties": {"name": "app-net"}},
    "sub": {"type": "OS::Neutron::Subnet", "properties": {
        "network": {"get_resource": "net"}, "cidr": "192.168.10.0/24",
        "allocation_pools": [{"start": "192.168.10.50", "end": "192.168.10.52"}]}},
    "port": {"type": "OS::Neutron::Port", "depends_on": ["sub"],
             "properties": {"network": {"get_resource": "net"}}},
    "fip": {"type": "OS::Neutron::FloatingIP", "properties": {
        "floating_network": "public", "port_id": {"get_resource": "port"}}},
    "vm": {"type": "OS::Nova::Server", "properties": {
        "name": "web", "flavor": "m1.small", "image": "img",
        "networks": [{"port": {"get_resource": "port"}}]}},
    "vm2": {"type": "OS::Nova::Server", "depends_on": ["sub", "vm"], "properties": {
        "flavor": "m1.small", "image": "img", "networks": [{"network": {"get_resource": "net"}}]}},
}
OUTPUTS = {name: {"value": {"get_attr": [vm, *path]}} for name, vm, path in [
    ("addresses", "vm", ["addresses"]), ("networks", "vm", ["networks"]),
    ("first_address", "vm", ["first_address"]), ("name", "vm", ["name"]), ("show", "vm", ["show"]),
    ("instance_name", "vm", ["instance_name"]), ("access", "vm", ["accessIPv4"]),
    ("vm2_ip", "vm2", ["first_address"]), ("by_name", "vm2", ["networks", "app-net", 0]),
    ("fip_address", "fip", ["floating_ip_address"]), ("fip_fixed", "fip", ["fixed_ip_address"]),
    ("fip_port", "fip", ["port_id"]), ("port_ip", "port", ["fixed_ips", 0, "ip_address"])]}


@pytest.fixture
def local_engine(store):
    driver = LocalDriver()  # records only: no state directory, no agent processes
    eng = Engine(store, system_clock, driver=driver, endpoints=ENDPOINTS, poll_interval=0.02)
    yield eng, driver
    eng.close()


def create(engine, resources, outputs=None):
    stack = engine.create_stack("t1", {"stack_name": "net", "template": hot(resources, outputs)})
    return run(engine, stack["id"])


def test_server_port_and_floating_ip_complete_with_heats_attribute_shapes(local_engine):
    engine, driver = local_engine
    stack = create(engine, NETWORK, OUTPUTS)
    assert stack["status"] == "COMPLETE", stack["status_reason"]
    out = {o["output_key"]: o["output_value"] for o in engine.outputs(stack)}
    rows = {r["name"]: r["physical_id"] for r in engine.resources(stack)}
    net_id, sub_id, port_id = rows["net"], rows["sub"], rows["port"]
    assert out["port_ip"] == "192.168.10.50" and out["vm2_ip"] == "192.168.10.51"
    assert (out["fip_fixed"], out["fip_port"]) == ("192.168.10.50", port_id)
    mac = driver.show("port", port_id)["mac_address"]
    entries = out["addresses"]["app-net"]
    assert [{k: e[k] for k in ("addr", "version", "OS-EXT-IPS:type", "OS-EXT-IPS-MAC:mac_addr", "port")}
            for e in entries] == [
        {"addr": "192.168.10.50", "version": 4, "OS-EXT-IPS:type": "fixed",
         "OS-EXT-IPS-MAC:mac_addr": mac, "port": port_id},
        {"addr": out["fip_address"], "version": 4, "OS-EXT-IPS:type": "floating",
         "OS-EXT-IPS-MAC:mac_addr": mac, "port": port_id}]
    assert entries[0]["network"]["id"] == net_id and entries[0]["subnets"][0]["id"] == sub_id
    assert out["addresses"][net_id] == entries  # by the network's id too, as Heat gives it
    assert out["networks"] == {"app-net": ["192.168.10.50", out["fip_address"]],
                               net_id: ["192.168.10.50", out["fip_address"]]}
    assert out["by_name"] == "192.168.10.51"
    assert (out["first_address"], out["name"], out["access"]) == ("192.168.10.50", "web", "")
    assert out["instance_name"].startswith("instance-")
    show = out["show"]
    assert (show["id"], show["name"], show["status"]) == (driver.show("server", rows["vm"])["id"], "web", "ACTIVE")
    assert list(show["addresses"]) == ["app-net"] and show["addresses"]["app-net"][0] == {
        "addr": "192.168.10.50", "version": 4, "OS-EXT-IPS:type": "fixed", "OS-EXT-IPS-MAC:mac_addr": mac}
    assert show["OS-EXT-SRV-ATTR:instance_name"] == out["instance_name"]


def test_a_full_allocation_pool_fails_the_port_naming_the_subnet(local_engine):
    engine, _ = local_engine
    resources = dict(NETWORK, **{f"extra{i}": {"type": "OS::Neutron::Port", "depends_on": ["vm2"],
                                              "properties": {"network": {"get_resource": "net"}}}
                                 for i in range(2)})
    stack = create(engine, resources)
    assert stack["status"] == "FAILED"
    assert "No more IP addresses available on subnet" in stack["status_reason"]
    assert "192.168.10.0/24" in stack["status_reason"]


def test_a_deleted_port_frees_its_address_and_a_server_its_own_ports():
    driver = LocalDriver()
    net, _ = driver.create("net", "n", {})
    sub, _ = driver.create("subnet", "s", {"network": net, "cidr": "10.9.0.0/29"})
    assert driver.show("subnet", sub)["allocation_pools"] == [{"start": "10.9.0.2", "end": "10.9.0.6"}]
    assert driver.show("net", net)["subnets"] == [sub]
    port, attributes = driver.create("port", "p", {"network": "n"})
    assert attributes["fixed_ips"] == [{"subnet_id": sub, "ip_address": "10.9.0.2"}]
    driver.delete("port", port)
    server, attributes = driver.create("server", "vm", {"networks": [{"network": net}]})
    assert attributes["first_address"] == "10.9.0.2"
    driver.delete("server", server)
    assert driver.create("port", "q", {"network": net})[1]["first_address"] == "10.9.0.2"


@pytest.mark.parametrize("properties, message", [
    ({"network": "n", "fixed_ips": [{"ip_address": "10.8.0.9"}]}, "IP address 10.8.0.9 is not in subnet 10.9.0.0/29"),
    ({"network": "n", "fixed_ips": [{"ip_address": "10.9.0.3"}]}, "IP address 10.9.0.3 is already allocated"),
])
def test_fixed_ips_outside_the_subnet_or_taken_are_refused(properties, message):
    driver = LocalDriver()
    net, _ = driver.create("net", "n", {})
    driver.create("subnet", "s", {"network": net, "cidr": "10.9.0.0/29"})
    driver.create("port", "taken", {"network": net, "fixed_ips": [{"ip_address": "10.9.0.3"}]})
    with pytest.raises(CloudError, match=message):
        driver.create("port", "p", properties)
    assert len([1 for r in driver._objects.values() if r["kind"] == "port"]) == 1  # nothing half-made


def test_a_server_on_a_network_the_local_cloud_lacks_gets_one_and_an_address():
    driver = LocalDriver()
    _, attributes = driver.create("server", "vm", {})
    assert list(attributes["networks"])[0] == "private"
    assert attributes["first_address"] == "10.0.0.2"
    _, other = driver.create("server", "vm2", {"networks": [{"network": "private"}]})
    assert other["first_address"] == "10.0.0.3"


def test_a_server_update_of_networks_replaces_its_own_ports():
    driver = LocalDriver()
    server, attributes = driver.create("server", "vm", {"networks": [{"network": "a"}]})
    assert list(attributes["networks"])[0] == "a"
    changed = driver.update("server", server, {"networks": [{"network": "b", "fixed_ip": "10.0.0.9"}]})
    assert changed["networks"]["b"] == ["10.0.0.9"] and "a" not in changed["networks"]
    assert changed["show"]["addresses"]["b"][0]["addr"] == "10.0.0.9"
    assert [r["attributes"]["network_id"] for r in driver._objects.values()
            if r["kind"] == "port"] == [driver.server_addresses(server)["addresses"]["b"][0]["network"]["id"]]
