"""The embedded default driver: clouds objects recorded in a JSON file on this machine.

Networks, subnets, ports, volumes and the rest are records with stable ids and plausible
attributes, in `local-cloud.json`, which every worker and node on the machine sharing the
directory reads and writes under one file lock. A server is a record too and, when it comes
with collector settings (a SOFTWARE_CONFIG server), a `stoker agent` process on this machine
with its own root directory under the state directory, polling this metadata server: the local
stand-in for a booted VM. Like a VM it belongs to the service, not to the process that made
it: it runs under a keeper of its own until its server is deleted, outlives the worker or
node that started it, and stops by itself when no node on the machine has lived for a grace
period (local_servers.py, local_keeper.py).
"""
from __future__ import annotations

import copy
import fcntl
import ipaddress
import json
import os
import sys
import tempfile
import threading
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from metadata_server.engine.drivers import local_network, local_volumes
from metadata_server.engine.drivers.base import CloudDriver, CloudError
from metadata_server.engine.drivers.local_servers import GRACE, MAX_SERVERS, LocalServers

NAMESPACE = uuid.UUID("6f1c1d2e-7c55-4a51-9d3b-5c6c2f0a7e11")


class LocalDriver(CloudDriver):
    name = "local"
    boots_user_data = False   # its servers never boot an image: no agent install needed

    def __init__(self, state_dir: str | os.PathLike | None = None,
                 agent_argv: list[str] | None = None, polling_interval: float = 1.0, *,
                 grace: float = GRACE, max_servers: int = MAX_SERVERS, store=None,
                 metrics_interval: float = 60.0):
        """`store`: the database whose stoker servers the agents serve; a server whose record
        is gone from it has its agent stopped by the next sweep. `grace`: how long agents
        outlive the last node on the machine. `max_servers`: servers with an agent this
        directory runs at most (each is two processes)."""
        self._dir = Path(state_dir) if state_dir else None
        self._path = self._dir / "local-cloud.json" if self._dir else None
        self._lock = threading.Lock()
        self._seen: tuple | None = None
        self._objects: dict[str, dict] = {}
        self._counter = 0
        self._polling_interval = polling_interval
        self._store = store
        self._max_servers = max_servers
        self._metrics_interval = metrics_interval  # 0: the agents send no metrics
        self.servers: LocalServers | None = None
        if self._dir is not None:   # with no state directory, servers stay records
            self._dir.mkdir(mode=0o700, parents=True, exist_ok=True)  # agents' credentials
            self.servers = LocalServers(
                self._dir, agent_argv or [sys.executable, "-m", "cli.main", "agent"],
                grace=grace, wanted=self._wanted)
            self.servers.start_duties()

    def _wanted(self, server_id: str) -> bool | None:
        """Whether a server's agent should run: its record is here and (with a store) its
        stoker server is in the database; None when the database cannot say."""
        with self._records():
            if self._objects.get(server_id, {}).get("kind") != "server":
                return False
        if self._store is None:
            return True
        try:
            return self._store.get_server(server_id) is not None
        except Exception:
            return None

    def close(self) -> None:
        """This process stops being a node of the local cloud; its servers' agents run on
        while another node lives (see local_servers.py)."""
        if self.servers is not None:
            self.servers.close()

    # -- the records, shared by the processes on this directory -------------------------------
    @contextmanager
    def _records(self, write: bool = False):
        """The records as the file holds them now, under the file lock; saved when `write`."""
        with self._lock:
            if self._path is None:
                with self._undone_on_error(write):
                    yield
                return
            with open(self._dir / "local-cloud.lock", "a") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX if write else fcntl.LOCK_SH)
                self._reload()
                with self._undone_on_error(write):
                    yield
                if write:
                    self._save()

    @contextmanager
    def _undone_on_error(self, write: bool):
        """A change refused half-way (no free address, too many servers) leaves no trace."""
        before = (copy.deepcopy(self._objects), self._counter) if write else None
        try:
            yield
        except BaseException:
            if before is not None:
                self._objects, self._counter = before
            raise

    def _reload(self) -> None:
        try:
            st = os.stat(self._path)
        except FileNotFoundError:
            return
        if (st.st_ino, st.st_mtime_ns, st.st_size) == self._seen:
            return
        data = json.loads(self._path.read_text())
        if "objects" in data and "counter" in data:
            self._objects, self._counter = data["objects"], data["counter"]
        else:   # the first format: the objects alone
            self._objects, self._counter = data, len(data)
        self._seen = (st.st_ino, st.st_mtime_ns, st.st_size)

    def _save(self) -> None:
        fd, tmp = tempfile.mkstemp(dir=self._dir, prefix=".local-cloud.")
        with os.fdopen(fd, "w") as handle:
            json.dump({"counter": self._counter, "objects": self._objects}, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, self._path)
        st = os.stat(self._path)
        self._seen = (st.st_ino, st.st_mtime_ns, st.st_size)

    def _agent_conf(self, watch: dict) -> str:
        return ("[DEFAULT]\ncollectors = watch\n"
                f"polling_interval = {self._polling_interval}\n"
                "min_polling_interval = 0.2\n\n[watch]\n"
                f"metadata_url = {watch['metadata_url']}\n"
                f"auth_token = {watch['auth_token']}\n" + self._agent_section())

    def _agent_section(self) -> str:
        """Metrics on: stoker evaluates the local cloud's alarms on what its agents send."""
        if not self._metrics_interval:
            return ""
        return (f"\n[agent]\nmetrics = on\nmetrics_interval = {self._metrics_interval:g}\n"
                f"metrics_batch = {self._metrics_interval:g}\n")

    def _attributes(self, kind: str, physical_id: str, name: str, properties: dict) -> dict:
        attributes: dict[str, Any] = {"id": physical_id, "name": name}
        self._counter += 1
        records = self._objects
        if kind == "net":
            attributes.update(status="ACTIVE", subnets=[], mtu=1450)
        elif kind == "subnet":
            attributes.update(local_network.subnet_attributes(records, properties))
        elif kind == "port":
            attributes.update(local_network.port_attributes(records, properties))
        elif kind == "server":
            ports = local_network.server_ports(records, physical_id, properties.get("networks"))
            attributes.update(local_network.server_addresses(records, ports), ports=ports,
                              instance_name="instance-%08x" % self._counter, accessIPv4="",
                              accessIPv6="")
        elif kind == "floating_ip":
            attributes.update(local_network.floating_ip_attributes(records, properties))
        elif kind == "floating_ip_association":
            floating = records.get(properties.get("floatingip_id") or "")
            if floating is None or floating.get("kind") != "floating_ip":
                raise CloudError(f"Floating IP {properties.get('floatingip_id')} could not be found")
            floating["attributes"].update(local_network.association(records, properties))
        elif kind == "volume":
            attributes.update(size=properties.get("size"), status="available", attachments=[])
        elif kind == "volume_attachment":
            attributes.update(local_volumes.attach(records, physical_id, properties))
        elif kind == "keypair":
            attributes.update(public_key=properties.get("public_key") or "ssh-ed25519 AAAA-local")
        attributes.update({k: v for k, v in properties.items() if k not in attributes})
        if kind == "server":
            attributes["show"] = _server_show(attributes)
        return attributes

    def create(self, kind, name, properties, *, physical_id=None):
        watch = (properties.get("os_collect_config") or {}).get("watch")
        runs_agent = kind == "server" and watch and self.servers is not None
        with self._records(write=True):
            physical_id = physical_id or str(uuid.uuid5(NAMESPACE, f"{kind}/{name}/{self._counter}"))
            recorded = {k: v for k, v in properties.items()
                        if k not in ("os_collect_config", "user_data", "admin_pass")}
            attributes = self._attributes(kind, physical_id, name, recorded)
            if runs_agent:   # counted and claimed under the lock every process takes
                self.servers.claim(physical_id, self._max_servers)
            self._objects[physical_id] = {"kind": kind, "attributes": attributes}
            if kind == "subnet":
                local_network.add_subnet(self._objects, attributes)
        if runs_agent:
            self.servers.start(physical_id, self._agent_conf(watch))
        return physical_id, attributes

    def update(self, kind, physical_id, properties):
        with self._records(write=True):
            record = self._objects.setdefault(physical_id, {"kind": kind, "attributes": {}})
            attributes = record["attributes"]
            if kind == "floating_ip" and {"port_id", "fixed_ip_address"} & set(properties):
                properties = {**properties, **local_network.association(
                    self._objects, {**attributes, **properties})}
            if kind == "port" and "fixed_ips" in properties:
                attributes["fixed_ips"] = []   # its own addresses are free for the new choice
                properties = {**properties, **local_network.port_attributes(self._objects, {
                    "network": attributes.get("network_id"), "fixed_ips": properties["fixed_ips"],
                    "mac_address": attributes.get("mac_address")})}
            if kind == "volume_attachment":
                properties = local_volumes.update(self._objects, physical_id, properties)
            if kind == "server" and "networks" in properties:
                # as Heat's interface changes: its own ports go, the new entries get theirs
                local_network.remove(self._objects, "server", physical_id)
                ports = local_network.server_ports(self._objects, physical_id, properties["networks"])
                properties = {k: v for k, v in properties.items() if k != "networks"}
                properties.update(local_network.server_addresses(self._objects, ports), ports=ports)
            attributes.update(properties)
            if kind == "server":
                attributes["show"] = _server_show(attributes)
            return dict(attributes)

    def delete(self, kind, physical_id):
        # the record goes first: a sweep seeing the agent stopped then does not start it again
        with self._records(write=True):
            local_volumes.remove(self._objects, kind, physical_id)
            local_network.remove(self._objects, kind, physical_id)
            self._objects.pop(physical_id, None)
        if kind == "server" and self.servers is not None:
            self.servers.stop(physical_id)

    def server_addresses(self, physical_id: str) -> dict | None:
        """A server's addresses, networks and first_address now: a floating IP associated with
        its port after it was made shows, as Heat reads them from Nova at get_attr time."""
        with self._records():
            record = self._objects.get(physical_id)
            if record is None or record.get("kind") != "server":
                return None
            return local_network.server_addresses(self._objects, record["attributes"].get("ports") or [])

    def external_network(self) -> str:
        """Floating IPs come from `public` (made on first use, as any network named here)."""
        return "public"

    def server_port(self, server_id: str) -> str:
        with self._records():
            record = self._objects.get(server_id)
            ports = (record or {}).get("attributes", {}).get("ports") or []
        if record is None or record.get("kind") != "server":
            raise CloudError(f"Instance {server_id} could not be found.")
        if not ports:
            raise CloudError(f"server {server_id} has no port to associate an address with")
        return ports[0]

    def find_floating_ip(self, address: str) -> str | None:
        with self._records():
            return next((i for i, r in self._objects.items() if r.get("kind") == "floating_ip"
                         and r["attributes"].get("floating_ip_address") == address), None)

    def show(self, kind, physical_id):
        with self._records():
            record = self._objects.get(physical_id)
            return dict(record["attributes"]) if record else None


def _server_show(attributes: dict) -> dict:
    """What Nova's GET /servers/<id> would show of a local server (the `show` attribute):
    addresses by network name only, without Heat's additions."""
    nova_keys = ("addr", "version", "OS-EXT-IPS:type", "OS-EXT-IPS-MAC:mac_addr")
    addresses = {label: [{k: e[k] for k in nova_keys} for e in entries]
                 for label, entries in attributes["addresses"].items()
                 if not any(e["network"].get("id") == label != e["network"].get("name")
                            for e in entries)}
    return {"id": attributes["id"], "name": attributes["name"], "status": "ACTIVE",
            "addresses": addresses, "accessIPv4": attributes["accessIPv4"],
            "accessIPv6": attributes["accessIPv6"],
            "OS-EXT-SRV-ATTR:instance_name": attributes["instance_name"],
            "flavor": {"original_name": attributes.get("flavor")},
            "image": {"id": attributes.get("image")} if attributes.get("image") else "",
            "metadata": attributes.get("metadata") or {}, "key_name": attributes.get("key_name")}
