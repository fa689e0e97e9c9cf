"""Builds the StackRuntime an operation or a read works on: binds the stack's definition under
the engine's limits, loads its stored resources, and hands its resource plugins their context.

This is the one place the engine's services are handed to resource plugins (PluginContext):
the nested stacks collaborator is built with this factory, so it is handed over after both exist
(serve_plugins).
"""
from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from metadata_server.engine.context import ChildStacks, PluginContext, ResourceFinder
from metadata_server.engine.errors import StackValidationFailed
from metadata_server.engine.loader import bind_definition
from metadata_server.engine.state import Flusher, Recorder, StackRuntime
from metadata_server.engine.template import StackIdentity
from metadata_server.engine.validation import validate
from metadata_server.service.errors import InvalidInput
from metadata_server.store.event_outbox import SETTINGS as SINK_SETTINGS
from metadata_server.store.event_sinks_spec import ZAQAR

if TYPE_CHECKING:  # pragma: no cover
    from metadata_server.engine.drivers import CloudDriver
    from metadata_server.engine.limits import Limits
    from metadata_server.engine.parse_cache import ParseCache
    from metadata_server.engine.store_seam import EngineStore
    from metadata_server.service.clock import Clock
    from metadata_server.service.endpoints import Endpoints
    from metadata_server.store import Store


class RuntimeFactory:
    def __init__(self, store: Store, stacks: EngineStore, clock: Clock, *, driver: CloudDriver,
                 endpoints: Endpoints, limits: Limits, parse_cache: ParseCache,
                 poll_interval: float, released: threading.Event, flusher: Flusher):
        self.store, self.stacks, self.clock = store, stacks, clock
        self.driver = driver
        self.endpoints = endpoints   # the last URLs a request brought (plugins hand them out)
        self.limits = limits
        self.parse_cache = parse_cache
        self.poll_interval = poll_interval
        self._released, self._flusher = released, flusher
        self._children: ChildStacks | None = None
        self._finder: ResourceFinder | None = None

    def serve_plugins(self, children: ChildStacks, finder: ResourceFinder) -> None:
        self._children, self._finder = children, finder

    # -- templates ---------------------------------------------------------------------------
    def bind(self, definition: dict, identity: StackIdentity, **options):
        """bind_definition under this engine's limits, each text parsed once for all stacks
        (a group's members, a tree being counted)."""
        return bind_definition(definition, identity, limits=self.limits,
                               cache=self.parse_cache, **options)

    @staticmethod
    def identity(stack: dict) -> StackIdentity:
        """What a stored stack's template sees of it (OS::stack_name, OS::stack_id, ...)."""
        return StackIdentity(stack["name"], stack["id"], stack["tenant"])

    def bind_stored(self, stack: dict, definition: dict | None = None):
        child_of = stack.get("parent_resource") if stack.get("parent_id") else None
        return self.bind(stack["definition"] if definition is None else definition,
                         self.identity(stack), child_of=child_of)

    # -- runtimes ----------------------------------------------------------------------------
    def recorder(self) -> Recorder:
        return Recorder(self.stacks, released=self._released, flusher=self._flusher)

    def context(self, stack: dict, endpoints: Endpoints | None = None) -> PluginContext:
        # a nested stack answers resource_facade from what its parent resource handed it
        facade = (stack["definition"].get("facade") or {}) if stack.get("parent_id") else None
        return PluginContext(self.store, self.clock, stack["tenant"], stack["id"], stack["name"],
                             endpoints or self.endpoints, self.driver, children=self._children,
                             finder=self._finder, limits=self.limits,
                             poll_interval=self.poll_interval, definition=stack["definition"],
                             parent_facade=facade)

    def load(self, stack: dict, endpoints=None, tolerate_errors: bool = True) -> StackRuntime:
        """A stored stack as it is (reads, delete, check, signals)."""
        try:
            bound = self.bind_stored(stack)
        except (StackValidationFailed, InvalidInput):
            if not tolerate_errors:
                raise
            bound = None
        return StackRuntime(stack, bound, self.stacks.resources(stack["id"]),
                            self.context(stack, endpoints), self.recorder(), self.clock)

    def _remember(self, endpoints: Endpoints | None) -> None:
        if endpoints is not None:
            self.endpoints = endpoints

    def prepare_create(self, stack: dict, endpoints) -> StackRuntime:
        """A new stack (not yet stored) validated, with a row for each of its resources."""
        self._remember(endpoints)
        bound = self.bind_stored(stack)
        graph = validate(bound)
        _check_sinks(stack, bound)
        _keep_derived(stack["definition"], bound)
        rt = StackRuntime(stack, bound, [], self.context(stack, endpoints),
                          self.recorder(), self.clock)
        rt.graph = graph
        for defn in bound.resource_definitions():
            rt.current[defn.name] = rt.new_row(defn.name, defn.type)
        return rt

    def prepare_update(self, stack: dict, definition: dict, endpoints) -> StackRuntime:
        """A stored stack bound to its new definition (validated), its old one kept for the
        clean-up order."""
        self._remember(endpoints)
        bound = self.bind_stored(stack, definition)
        try:
            previous = self.bind_stored(stack)
            bound.check_update(previous)
        except (StackValidationFailed, InvalidInput, NotImplementedError):
            previous = None
        graph = validate(bound)
        _check_sinks(stack, bound)
        _keep_derived(definition, bound)
        rt = StackRuntime(dict(stack, definition=definition), bound,
                          self.stacks.resources(stack["id"]),
                          self.context(dict(stack, definition=definition), endpoints),
                          self.recorder(), self.clock)
        rt.ctx.definition = definition
        rt.graph, rt.previous_bound = graph, previous
        return rt


def _check_sinks(stack: dict, bound) -> None:
    """A zaqar-queue sink needs a Zaqar to deliver to: without one the stack is refused rather
    than its events lost. A nested stack inherits sinks its top-level stack already passed."""
    if stack.get("parent_id") or SINK_SETTINGS.zaqar:
        return
    for index, sink in enumerate(bound.environment.event_sinks):
        if isinstance(sink, dict) and sink.get("type") == ZAQAR:
            where = bound.environment.sink_error(
                index, f"a zaqar-queue event sink (queue {sink.get('target')!r}) needs a Zaqar "
                       "to post to, and this server has none configured (the operator sets "
                       "--zaqar-url); remove the sink, or use {type: webhook, target: <URL>}")
            raise StackValidationFailed(str(where))


def _keep_derived(definition: dict, bound) -> None:
    """What readers below the engine need of a bound stack rides with its stored definition, so
    they never parse a template or an environment: the description (listing stacks shows each
    one's, whatever its format or whether it came as text) and the event sinks (the outbox
    writes each event's deliveries in the events' own transaction)."""
    definition["description"] = bound.template.description
    definition["event_sinks"] = list(bound.environment.event_sinks)
