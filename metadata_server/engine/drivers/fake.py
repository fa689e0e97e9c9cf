"""An in-memory CloudDriver for tests: objects are dicts, failures are injected by name."""
from __future__ import annotations

import threading
import uuid
from typing import Any

from metadata_server.engine.drivers.base import CloudDriver, CloudError


class FakeDriver(CloudDriver):
    name = "fake"
    boots_user_data = False   # its servers never boot an image: no agent install needed

    def __init__(self):
        self.objects: dict[str, dict[str, Any]] = {}
        self.calls: list[tuple[str, str, str]] = []  # (verb, kind, name or id)
        self.fail_on: set[str] = set()                # names whose create fails
        self._lock = threading.Lock()

    def create(self, kind, name, properties, *, physical_id=None):
        with self._lock:
            self.calls.append(("create", kind, name))
            if name in self.fail_on:
                raise CloudError(f"fake cloud refused to create {kind} {name}")
            physical_id = physical_id or str(uuid.uuid4())
            attributes = {"id": physical_id, "name": name, **properties}
            self.objects[physical_id] = {"kind": kind, **attributes}
            return physical_id, attributes

    def update(self, kind, physical_id, properties):
        with self._lock:
            self.calls.append(("update", kind, physical_id))
            if physical_id not in self.objects:
                raise CloudError(f"{kind} {physical_id} not found")
            self.objects[physical_id].update(properties)
            return {k: v for k, v in self.objects[physical_id].items() if k != "kind"}

    def delete(self, kind, physical_id):
        with self._lock:
            self.calls.append(("delete", kind, physical_id))
            self.objects.pop(physical_id, None)

    def show(self, kind, physical_id):
        with self._lock:
            found = self.objects.get(physical_id)
            return {k: v for k, v in found.items() if k != "kind"} if found else None
