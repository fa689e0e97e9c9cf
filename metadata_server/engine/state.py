"""One stack's live state during an operation, and the recorder that persists it in batches.

The walker changes resource states from many threads; each change updates the in-memory row at
once (so get_attr sees it) and is queued for the database. A flusher writes the queue every few
milliseconds in one transaction, which keeps a thousand-resource stack fast on SQLite; the
operation flushes before it writes the stack's own status, so the stored stack never claims more
than its stored resources. One Flusher thread writes for every stack of an engine, however many
nested stacks run at once.
"""
from __future__ import annotations

import logging
import threading
import uuid
from dataclasses import asdict
from typing import Any, Callable

from metadata_server.engine.resources import Resource, resource_class
from metadata_server.engine.resources.base import select_path
from metadata_server.engine.store_seam import EngineStore
from metadata_server.engine.template.functions import ArgError
from metadata_server.service.clock import Clock
from metadata_server.store.event_sinks_spec import EventSource, event_source

STACK_TYPE = "OS::Heat::Stack"
log = logging.getLogger("stoker.engine")


class Released(Exception):
    """The engine stopped and handed its operations on: this one must not record anything more
    (the next engine resumes it from what is stored)."""


class Flusher:
    """The one thread that writes the queued state of every recording stack of an engine."""

    def __init__(self, interval: float = 0.05, initializer: Callable[[], Any] | None = None):
        self._interval = interval
        self._initializer = initializer
        self._recorders: dict[int, Recorder] = {}  # in the order they started
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self._thread: threading.Thread | None = None

    def add(self, recorder: "Recorder") -> None:
        with self._lock:
            self._recorders[id(recorder)] = recorder
            if self._thread is None and not self._closed.is_set():
                self._thread = threading.Thread(target=self._run, name="stoker-engine-flusher",
                                                daemon=True)
                self._thread.start()

    def remove(self, recorder: "Recorder") -> None:
        with self._lock:
            self._recorders.pop(id(recorder), None)

    def close(self) -> None:
        self._closed.set()

    def _run(self) -> None:
        if self._initializer is not None:
            self._initializer()
        while not self._closed.wait(self._interval):
            with self._lock:
                recorders = list(self._recorders.values())
            for recorder in recorders:
                try:
                    recorder.flush()
                except Exception:  # a database hiccup: the batch is retried with the next one
                    log.exception("writing stack state failed; retrying")


class Recorder:
    def __init__(self, stacks: EngineStore, interval: float = 0.05,
                 released: threading.Event | None = None, flusher: Flusher | None = None):
        self._stacks = stacks
        self._flusher = flusher
        # set by Engine.release: from then on a state change raises Released instead of being
        # recorded, so a running walk unwinds at its next step and leaves the store as it was
        self._released = released or threading.Event()
        self._interval = interval
        self._lock = threading.Lock()
        self._inserts: dict[str, dict] = {}
        self._updates: dict[str, dict] = {}
        self._deletes: list[str] = []
        self._events: list[dict] = []
        self._sources: dict[str, EventSource] = {}   # the stacks whose events it records
        self._wake = threading.Event()
        self._stopped = False
        self._thread: threading.Thread | None = None
        self._flush_lock = threading.Lock()

    def start(self) -> None:
        if self._flusher is not None:
            self._flusher.add(self)
            return
        self._thread = threading.Thread(target=self._run, name="stoker-engine-recorder",
                                        daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._flusher is not None:
            self._flusher.remove(self)
        self._stopped = True
        self._wake.set()
        if self._thread is not None:
            self._thread.join()
        self.flush()

    def _run(self) -> None:
        while not self._stopped:
            self._wake.wait(self._interval)
            try:
                self.flush()
            except Exception:  # a database hiccup: the batch is retried with the next one
                log.exception("writing stack state failed; retrying")

    def ensure_recording(self) -> None:
        if self._released.is_set():
            raise Released()

    def insert(self, row: dict) -> None:
        with self._lock:
            self.ensure_recording()
            self._inserts[row["id"]] = dict(row)

    def update(self, row_id: str, values: dict) -> None:
        with self._lock:
            self.ensure_recording()
            if row_id in self._inserts:
                self._inserts[row_id].update(values)
            else:
                self._updates.setdefault(row_id, {}).update(values)

    def delete(self, row_id: str) -> None:
        with self._lock:
            self.ensure_recording()
            if self._inserts.pop(row_id, None) is None:
                self._updates.pop(row_id, None)
                self._deletes.append(row_id)

    def knows(self, stack: dict) -> None:
        """The stack whose events this records: the sinks the engine kept at bind time
        (runtimes._keep_derived) ride with its events, so the outbox reads nothing for them. A
        definition stored before sinks were kept is left to the outbox to read."""
        definition = stack.get("definition") or {}
        if "event_sinks" in definition:
            self._sources[stack["id"]] = event_source(stack.get("tenant"), stack.get("name"),
                                                      definition["event_sinks"])

    def event(self, row: dict) -> None:
        with self._lock:
            self.ensure_recording()
            self._events.append(row)

    def flush(self) -> None:
        if not self._released.is_set():  # else Engine.release wrote what came before (drain)
            self._write()

    def drain(self) -> None:
        """After release: write what was queued before it (nothing is queued after)."""
        self._write()

    def _write(self) -> None:
        with self._flush_lock:
            with self._lock:
                inserts, updates = list(self._inserts.values()), list(self._updates.items())
                deletes, events = self._deletes, self._events
                self._inserts, self._updates, self._deletes, self._events = {}, {}, [], []
            if inserts or updates or deletes or events:
                try:
                    self._stacks.apply(inserts, updates, deletes, events,
                                       sources=self._sources if events else None)
                except Exception:
                    with self._lock:  # put the batch back, ahead of newer changes
                        for row in inserts:
                            self._inserts.setdefault(row["id"], row)
                        for row_id, values in updates:
                            self._updates[row_id] = {**values, **self._updates.get(row_id, {})}
                        self._deletes[:0] = deletes
                        self._events[:0] = events
                    raise


def snapshot(defn) -> dict:
    """The parts of a resource definition whose change means the resource changed."""
    data = asdict(defn)
    return {k: data.get(k) for k in ("type", "properties", "metadata", "update_policy",
                                     "deletion_policy", "provider_template")}


class StackRuntime:
    """The stack row, its bound template, current resource rows and replaced ones."""

    def __init__(self, stack: dict, bound, rows: list[dict], ctx, recorder: Recorder,
                 clock: Clock):
        self.stack = stack
        recorder.knows(stack)
        self.bound = bound
        self.ctx = ctx
        self.recorder = recorder
        self.clock = clock
        self.lock = threading.RLock()
        self.current: dict[str, dict] = {}
        self.backups: list[dict] = []
        for row in rows:
            if row.get("replaced_by"):
                self.backups.append(row)
            else:
                self.current[row["name"]] = row
        self.definitions = {d.name: d for d in bound.resource_definitions()} if bound else {}
        self.resolver = Resolver(self)
        # the walk finishes an operation an engine restart interrupted: resources marked
        # interrupted may continue their action (operations.continue_interrupted)
        self.resuming = False
        self.graph = None            # the walk's order (create and update)
        self.previous_bound = None   # an update's old template: its clean-up order

    # -- state changes -----------------------------------------------------------------------
    def new_row(self, name: str, type_name: str) -> dict:
        row = {"id": str(uuid.uuid4()), "stack_id": self.stack["id"], "name": name,
               "type": type_name, "physical_id": None, "action": "INIT", "status": "COMPLETE",
               "status_reason": "", "definition": None, "properties": None, "data": {},
               "attributes": None, "replaced_by": None, "created_at": self.clock(),
               "updated_at": None}
        self.recorder.insert(row)
        return row

    def set_state(self, row: dict, action: str, status: str, reason: str = "state changed",
                  **values: Any) -> None:
        reason = self.mask(reason)
        with self.lock:
            now = self.clock()
            values.update(action=action, status=status, status_reason=reason, updated_at=now)
            row.update(values)
            self.recorder.update(row["id"], values)
            self.recorder.event({"id": str(uuid.uuid4()), "stack_id": self.stack["id"],
                                 "resource_name": row["name"],
                                 "physical_resource_id": row.get("physical_id") or "",
                                 "resource_type": row["type"], "action": action,
                                 "status": status, "status_reason": reason, "created_at": now})

    def stack_event(self, action: str, status: str, reason: str) -> None:
        self.recorder.event({"id": str(uuid.uuid4()), "stack_id": self.stack["id"],
                             "resource_name": self.stack["name"],
                             "physical_resource_id": self.stack["id"],
                             "resource_type": STACK_TYPE, "action": action, "status": status,
                             "status_reason": reason, "created_at": self.clock()})

    def mask(self, value: Any) -> Any:
        try:
            return self.bound.mask(value) if self.bound is not None else value
        except NotImplementedError:
            return value

    # -- plugins -----------------------------------------------------------------------------
    def plugin(self, row: dict, properties: dict | None = None, defn=None) -> Resource:
        defn = defn or self.definitions.get(row["name"])
        provider = (defn.provider_template if defn is not None
                    else (row.get("definition") or {}).get("provider_template"))
        cls = resource_class(row["type"], provider)
        return cls(row["name"], self.ctx, properties if properties is not None
                   else (row.get("properties") or {}), row.get("physical_id"),
                   row.get("data"), defn)

    def find(self, name_or_physical: str) -> dict | None:
        with self.lock:
            if name_or_physical in self.current:
                return self.current[name_or_physical]
            for row in self.current.values():
                if row.get("physical_id") == name_or_physical:
                    return row
        return None


class Resolver:
    """Answers get_resource and get_attr from the stack's current rows (Heat's rules)."""

    def __init__(self, runtime: StackRuntime):
        self.runtime = runtime

    def _ready(self, name: str) -> dict | None:
        row = self.runtime.current.get(name)
        if row is None or row["action"] == "INIT" or (row["action"] == "DELETE"
                                                      and row["status"] == "COMPLETE"):
            return None
        return row

    def resource_id(self, name: str) -> Any:
        row = self._ready(name)
        if row is None:
            return name
        return self.runtime.plugin(row).reference_id()

    def attribute(self, name: str, attr: str | None, path: tuple) -> Any:
        row = self._ready(name)
        if row is None:
            return None
        plugin = self.runtime.plugin(row)
        if attr is None:
            names = plugin.attributes_schema or ()
            return select_path({n: plugin.attribute(n) for n in names}, path)
        return plugin.attribute_at(attr, tuple(path))

    def resource_facade(self, section: str) -> Any:
        facade = self.runtime.ctx.parent_facade
        if facade is None:  # Heat fails here too (its stack has no parent resource)
            raise ArgError("resource_facade needs a parent resource: it is only available in a "
                           "nested stack (a provider template)", "StackValidationFailed")
        return facade.get(section)
