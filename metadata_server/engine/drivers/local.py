"""The embedded default driver: clouds objects recorded in a JSON file on this machine.

Networks, subnets, ports, volumes and the rest are records with stable ids (derived from the
stack and resource, so a re-created record keeps its id) and plausible attributes. A server is a
record too; servers whose user_data_format is SOFTWARE_CONFIG are registered with the metadata
server, so a stoker agent started with the resource's os_collect_config polls for them.
"""
from __future__ import annotations

import ipaddress
import json
import os
import tempfile
import threading
import uuid
from pathlib import Path
from typing import Any

NAMESPACE = uuid.UUID("6f1c1d2e-7c55-4a51-9d3b-5c6c2f0a7e11")


class LocalDriver:
    name = "local"

    def __init__(self, state_dir: str | os.PathLike | None = None):
        self._path = Path(state_dir) / "local-cloud.json" if state_dir else None
        self._lock = threading.Lock()
        self._objects: dict[str, dict] = self._load()
        self._counter = len(self._objects)

    def _load(self) -> dict:
        if self._path and self._path.exists():
            return json.loads(self._path.read_text())
        return {}

    def _save(self) -> None:
        if not self._path:
            return
        self._path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self._path.parent, prefix=".local-cloud.")
        with os.fdopen(fd, "w") as handle:
            json.dump(self._objects, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, self._path)

    def _attributes(self, kind: str, physical_id: str, name: str, properties: dict) -> dict:
        attributes: dict[str, Any] = {"id": physical_id, "name": name}
        self._counter += 1
        if kind == "subnet":
            cidr = properties.get("cidr") or "10.0.0.0/24"
            network = ipaddress.ip_network(cidr, strict=False)
            attributes.update(cidr=str(network), gateway_ip=str(next(network.hosts())),
                              ip_version=network.version)
        elif kind in ("port", "server"):
            attributes.update(first_address=f"10.0.{self._counter // 250}.{self._counter % 250 + 2}",
                              mac_address="fa:16:3e:%02x:%02x:%02x" % (
                                  self._counter >> 16 & 255, self._counter >> 8 & 255,
                                  self._counter & 255))
            attributes["fixed_ips"] = [{"ip_address": attributes["first_address"]}]
        elif kind == "floating_ip":
            attributes["floating_ip_address"] = f"172.24.4.{self._counter % 250 + 2}"
        elif kind == "volume":
            attributes.update(size=properties.get("size"), status="available")
        elif kind == "keypair":
            attributes.update(public_key=properties.get("public_key") or "ssh-ed25519 AAAA-local")
        attributes.update({k: v for k, v in properties.items() if k not in attributes})
        return attributes

    def create(self, kind, name, properties, *, physical_id=None):
        with self._lock:
            physical_id = physical_id or str(uuid.uuid5(NAMESPACE, f"{kind}/{name}/{self._counter}"))
            attributes = self._attributes(kind, physical_id, name, properties)
            self._objects[physical_id] = {"kind": kind, "attributes": attributes}
            self._save()
            return physical_id, attributes

    def update(self, kind, physical_id, properties):
        with self._lock:
            record = self._objects.setdefault(physical_id, {"kind": kind, "attributes": {}})
            record["attributes"].update(properties)
            self._save()
            return dict(record["attributes"])

    def delete(self, kind, physical_id):
        with self._lock:
            if self._objects.pop(physical_id, None) is not None:
                self._save()

    def show(self, kind, physical_id):
        with self._lock:
            record = self._objects.get(physical_id)
            return dict(record["attributes"]) if record else None
