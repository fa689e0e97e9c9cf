"""The Engine: stack operations (create, update, delete, rollback, cancel) on a store and a clock.

Requests validate synchronously (bad input raises before anything is stored); the operation
itself is queued on the engine's budget of threads (budget.py), which also runs the resources of
its walk, and those of every nested stack, in parallel. Engine threads take their database
connections from a bounded pool of their own, the heartbeat from a reserved one, so engine work
never waits for, nor takes, the connections requests use. State goes to the
database as it changes, a heartbeat marks the operations this engine is running, and a sweep
marks FAILED, with a reason, any operation whose engine stopped: nothing stays IN_PROGRESS.

This class is a facade: it builds the collaborators, each with what it needs, and answers the
API by handing each call to one of them.

    runtimes  RuntimeFactory   binds definitions, loads StackRuntimes, makes PluginContexts
    runner    OperationRunner  what runs here; begin, walk, finish, start and wait an operation
    steps     Steps            what create, update, delete, check, suspend do to resources
    actions   StackActions     the requests that change a stack (validate, claim, start)
    reads     StackReads       rows, resources, events, outputs (also the ResourceFinder)
    children  NestedStacks     the ChildStacks service of resource plugins
    recovery  Recovery         heartbeat and takeover of orphaned operations
    previews  Previews         preview, update preview and validate (nothing stored)
    adoption  Adoption         abandon, and create from abandon data (adopt)
    snapshots Snapshots        snapshot, list, show, delete, restore
"""
from __future__ import annotations

import logging
import threading
import time
import uuid
from typing import Any

from metadata_server.engine import status as st
from metadata_server.engine.actions import StackActions
from metadata_server.engine.adopt import FIELD as ADOPT_FIELD
from metadata_server.engine.adopt import Adoption
from metadata_server.engine.budget import Budget
from metadata_server.engine.drivers import CloudDriver, LocalDriver
from metadata_server.engine.limits import DEFAULT, Limits
from metadata_server.engine.liveness import Liveness
from metadata_server.engine.nested_stacks import NestedStacks
from metadata_server.engine.parse_cache import ParseCache
from metadata_server.engine.plan import Plan
from metadata_server.engine.preview import Previews
from metadata_server.engine.reads import StackReads
from metadata_server.engine.recovery import LIVENESS_LANE, Recovery
from metadata_server.engine.relay import CANCEL, DELETE, SIGNAL, Relay
from metadata_server.engine.runner import Operation, OperationRunner
from metadata_server.engine.runtimes import RuntimeFactory
from metadata_server.engine.signal_pool import SignalPool
from metadata_server.engine.snapshots import Snapshots
from metadata_server.engine.state import Flusher
from metadata_server.engine.steps import Steps
from metadata_server.engine.store_seam import EngineStore
from metadata_server.engine.template import StackIdentity
from metadata_server.engine.tree_limits import TreeLimits
from metadata_server.service.clock import Clock, system_clock
from metadata_server.service.endpoints import LOCAL, Endpoints
from metadata_server.store import Store
from metadata_server.store.event_query import EventQuery
from metadata_server.store.lanes import add_lane, use_lane
from metadata_server.store.stacks import StackStore

__all__ = ["DEFAULT_DB_CONNECTIONS", "DEFAULT_THREADS", "ENGINE_LANE", "Engine", "Operation"]

log = logging.getLogger("stoker.engine")
# most engine work is waiting (for signals, for clouds): threads are cheap, but bounded
DEFAULT_THREADS = 256
DEFAULT_DB_CONNECTIONS = 8
ENGINE_LANE = "engine"
LIVENESS_CONNECTIONS = 2  # the heartbeat and its sweep: never queued behind engine work


class Engine:
    def __init__(self, store: Store | None, clock: Clock = system_clock, *,
                 driver: CloudDriver | None = None, endpoints: Endpoints = LOCAL,
                 threads: int = DEFAULT_THREADS, threads_per_tenant: int | None = None,
                 db_connections: int = DEFAULT_DB_CONNECTIONS, poll_interval: float = 0.2,
                 heartbeat_interval: float = 5.0, stale_after: float = 30.0,
                 recover: bool = True, resume: bool = True, minute: float = 60.0,
                 liveness: Liveness | None = None, limits: Limits = DEFAULT,
                 stacks: EngineStore | None = None, signal_workers: int = 4,
                 signals_per_group: int = 4, signals_queued: int = 256):
        """`stacks`: the engine's tables (store_seam.EngineStore); by default StackStore on the
        store's database. With another (store_fake.MemoryStackStore) `store` may be None: the
        engine then needs no database, as long as its resources need none."""
        self.store, self.clock, self.limits = store, clock, limits
        self.stacks = stacks if stacks is not None else StackStore(store.engine)
        self.engine_id = str(uuid.uuid4())
        self.driver = driver or LocalDriver()
        self.liveness = liveness
        self.heartbeat_interval = heartbeat_interval
        # engine threads: a bounded pool of connections each, apart from the requests' pool
        self.db_lane = None
        if store is not None:
            self.db_lane = add_lane(store.engine, ENGINE_LANE, db_connections)
            add_lane(store.engine, LIVENESS_LANE, LIVENESS_CONNECTIONS)
        self.budget = Budget(threads, threads_per_tenant, initializer=lambda: use_lane(ENGINE_LANE))
        self._flusher = Flusher(initializer=lambda: use_lane(ENGINE_LANE))
        self._stop = threading.Event()
        self._released = threading.Event()  # shared by every Recorder this engine makes

        events = limits.max_events_per_stack
        self.runtimes = RuntimeFactory(
            store, self.stacks, clock, driver=self.driver, endpoints=endpoints, limits=limits,
            parse_cache=ParseCache.for_limits(limits), poll_interval=poll_interval,
            released=self._released, flusher=self._flusher)
        self.runner = OperationRunner(self.stacks, clock, self.engine_id, self.budget,
                                      max_events_per_stack=events, minute=minute)
        self.steps = Steps(self.runner, self.runtimes, self.stacks, clock)
        self.tree = TreeLimits(self.stacks, limits, self.runtimes.bind)
        self.reads = StackReads(self.stacks, self.runner, self.runtimes)
        # policy signals' resizes: a few threads, and a bounded queue per group and in all
        self.signals = SignalPool(signal_workers, signals_per_group, signals_queued,
                                  initializer=lambda: use_lane(ENGINE_LANE))
        self.actions = StackActions(self.stacks, clock, self.engine_id, runner=self.runner,
                                    runtimes=self.runtimes, steps=self.steps, tree=self.tree,
                                    reads=self.reads, max_events_per_stack=events,
                                    signals=self.signals)
        self.recovery = Recovery(self.stacks, clock, self.engine_id, runner=self.runner,
                                 runtimes=self.runtimes, steps=self.steps, liveness=liveness,
                                 stale_after=stale_after, resume=resume,
                                 orphans=self.actions.continue_resize)
        self.children = NestedStacks(self.stacks, clock, self.engine_id, runner=self.runner,
                                     runtimes=self.runtimes, steps=self.steps, tree=self.tree,
                                     recovery=self.recovery, reads=self.reads)
        self.runtimes.serve_plugins(children=self.children, finder=self.reads)
        self.previews = Previews(self.runtimes, self.reads, limits)
        self.adoption = Adoption(self.stacks, clock, self.engine_id, runner=self.runner,
                                 runtimes=self.runtimes, tree=self.tree, reads=self.reads)
        self.snapshots = Snapshots(self.stacks, clock, self.engine_id, runner=self.runner,
                                   runtimes=self.runtimes, steps=self.steps, tree=self.tree,
                                   reads=self.reads, limits=limits)
        # cancel, delete and signals for a stack another engine runs go to that engine (no
        # database: no other engine)
        self.relay = None if store is None else Relay(
            store.engine, self.stacks, self.runner, clock, self.engine_id, act=self._act_relayed,
            alive=liveness.alive if liveness else None, lane=ENGINE_LANE)

        if liveness is not None:
            liveness.register(self.engine_id)
        if recover:
            self.recover()
        self._maintenance = threading.Thread(
            target=self.recovery.maintain, args=(self._stop, heartbeat_interval,
                                                 liveness.sweep_interval if liveness else None),
            daemon=True, name="stoker-engine-heartbeat")
        self._maintenance.start()

    # -- settings tests and benches change on a running engine -------------------------------
    @property
    def minute(self) -> float:
        return self.runner.minute

    @minute.setter
    def minute(self, seconds: float) -> None:
        self.runner.minute = seconds

    @property
    def parse_cache(self) -> ParseCache:
        return self.runtimes.parse_cache

    @parse_cache.setter
    def parse_cache(self, cache: ParseCache) -> None:
        self.runtimes.parse_cache = cache

    @property
    def endpoints(self) -> Endpoints:
        return self.runtimes.endpoints

    # -- life --------------------------------------------------------------------------------
    def gauges(self) -> dict[str, float]:
        """For /metrics: how much of the engine budget is in use."""
        workers, running, queued = self.budget.stats()
        gauges = {"stoker_engine_threads": workers, "stoker_engine_threads_busy": running,
                  "stoker_engine_tasks_queued": queued}
        signal_workers, signals_waiting = self.signals.stats()
        gauges.update(stoker_engine_signal_threads=signal_workers,
                      stoker_engine_signals_waiting=signals_waiting)
        if self.db_lane is not None:
            gauges["stoker_engine_db_connections_in_use"] = self.db_lane.pool.checkedout()
        return gauges

    def recover(self) -> list[str]:
        return self.recovery.recover()

    def release(self, timeout: float = 10.0) -> list[str]:
        """Stop without ending anything (a server shutting down): running operations stay
        IN_PROGRESS as stored, and their heartbeat is cleared so the next engine (a restarted
        server, another worker) takes them over at once instead of after `stale_after`.
        Returns the ids of the stacks handed on."""
        self._stop.set()
        self._released.set()  # from here no state change is recorded: walks unwind
        ops, runtimes = self.runner.snapshot()
        for rt in runtimes:
            try:
                rt.recorder.drain()
            except Exception:  # the database is away: the next engine finds the older state
                log.exception("stack %s: writing state before release failed", rt.stack["id"])
        for op in ops:
            op.token.hand_on()
        end = time.monotonic() + timeout
        for op in ops:
            op.done.wait(max(0.0, end - time.monotonic()))
        handed = [rt.stack["id"] for rt in runtimes]
        self.stacks.release(handed, self.engine_id)
        self._let_go()
        return handed

    def close(self) -> None:
        self._stop.set()
        ops, _ = self.runner.snapshot()
        for op in ops:
            op.token.cancel("engine stopped")
            op.done.wait()
        self._let_go()

    @property
    def closed(self) -> bool:
        return self._stop.is_set()

    def _let_go(self) -> None:
        """What this engine holds outside the database: threads, the driver's resources, its
        lock."""
        if self.relay is not None:
            self.relay.close()
        self.budget.close()
        self.signals.close()
        self._flusher.close()
        self.driver.close()
        if self.liveness is not None:
            self.liveness.release()

    def wait(self, stack_id: str, timeout: float | None = None) -> dict:
        """Until the stack's running operation (if any) ends; the stack row then."""
        return self.runner.wait(stack_id, timeout)

    # -- reads -------------------------------------------------------------------------------
    def get_stack(self, tenant: str, name_or_id: str) -> dict:
        return self.reads.get_stack(tenant, name_or_id)

    def list_stacks(self, tenant: str, **filters) -> list[dict]:
        return self.reads.list_stacks(tenant, **filters)

    def resources(self, stack: dict) -> list[dict]:
        return self.reads.resources(stack)

    def events(self, stack: dict, resource: str | None = None,
               query: EventQuery = EventQuery()) -> list[dict]:
        return self.reads.events(stack, resource, query)

    def nested_stacks(self, stack: dict, depth: int) -> list[dict]:
        return self.reads.nested_stacks(stack, depth)

    def find_resource(self, stack_id: str, name_or_physical: str) -> dict | None:
        return self.reads.find_resource(stack_id, name_or_physical)

    def outputs(self, stack: dict, key: str | None = None) -> list[dict]:
        return self.reads.outputs(stack, key)

    def resource_attribute(self, stack: dict, name: str, attr: str) -> Any:
        return self.reads.resource_attribute(stack, name, attr)

    def resource_metadata(self, stack: dict, name: str) -> Any:
        return self.reads.resource_metadata(stack, name)

    def parameters(self, stack: dict) -> dict:
        return self.reads.parameters(stack)

    def export_stack(self, tenant: str, name_or_id: str) -> dict:
        return self.reads.export_stack(tenant, name_or_id)

    def identity(self, stack: dict) -> StackIdentity:
        """What a stored stack's template sees of it (OS::stack_name, OS::stack_id, ...)."""
        return self.runtimes.identity(stack)

    def bind(self, definition: dict, identity: StackIdentity, **options):
        return self.runtimes.bind(definition, identity, **options)

    # -- changes -----------------------------------------------------------------------------
    def create_stack(self, tenant: str, body: dict, endpoints: Endpoints | None = None) -> dict:
        if body.get(ADOPT_FIELD) is not None:
            return self.adoption.adopt(tenant, body, endpoints)
        return self.actions.create_stack(tenant, body, endpoints)

    def abandon_stack(self, tenant: str, name_or_id: str) -> dict:
        """Heat's abandon body; the stack is gone, its resources are not."""
        return self.adoption.abandon(tenant, name_or_id)

    def snapshot_stack(self, tenant: str, name_or_id: str, body: dict) -> dict:
        return self.snapshots.create(self.reads.get_stack(tenant, name_or_id), body)

    def list_snapshots(self, tenant: str, name_or_id: str) -> list[dict]:
        return self.snapshots.list(self.reads.get_stack(tenant, name_or_id))

    def show_snapshot(self, tenant: str, name_or_id: str, snapshot_id: str) -> dict:
        return self.snapshots.get(self.reads.get_stack(tenant, name_or_id), snapshot_id)

    def delete_snapshot(self, tenant: str, name_or_id: str, snapshot_id: str) -> None:
        self.snapshots.delete(self.reads.get_stack(tenant, name_or_id), snapshot_id)

    def restore_snapshot(self, tenant: str, name_or_id: str, snapshot_id: str,
                         endpoints: Endpoints | None = None) -> None:
        self.snapshots.restore(self.reads.get_stack(tenant, name_or_id), snapshot_id, endpoints)

    def update_stack(self, tenant: str, name_or_id: str, body: dict, *, patch: bool = False,
                     endpoints: Endpoints | None = None) -> dict:
        return self.actions.update_stack(tenant, name_or_id, body, patch=patch,
                                         endpoints=endpoints)

    def delete_stack(self, tenant: str, name_or_id: str,
                     endpoints: Endpoints | None = None) -> None:
        if not self._relayed(tenant, name_or_id, DELETE, {}):
            self.actions.delete_stack(tenant, name_or_id, endpoints)

    def check_stack(self, tenant: str, name_or_id: str) -> None:
        self.actions.check_stack(tenant, name_or_id)

    def suspend_stack(self, tenant: str, name_or_id: str) -> None:
        self.actions.suspend_or_resume(tenant, name_or_id, st.SUSPEND)

    def resume_stack(self, tenant: str, name_or_id: str) -> None:
        self.actions.suspend_or_resume(tenant, name_or_id, st.RESUME)

    def cancel(self, tenant: str, name_or_id: str, rollback: bool = True) -> None:
        if not self._relayed(tenant, name_or_id, CANCEL, {"rollback": rollback}):
            self.actions.cancel(tenant, name_or_id, rollback)

    def mark_unhealthy(self, tenant: str, name_or_id: str, resource: str, body: dict) -> None:
        self.actions.mark_unhealthy(tenant, name_or_id, resource, body)

    def signal_resource(self, tenant: str, name_or_id: str, resource: str, body: Any) -> None:
        if not self._relayed(tenant, name_or_id, SIGNAL, {"resource": resource, "body": body}):
            self.actions.signal_resource(tenant, name_or_id, resource, body)

    def _relayed(self, tenant: str, name_or_id: str, kind: str, body: dict) -> bool:
        """Whether another engine runs the stack's operation, so it was asked to act (relay.py)."""
        if self.relay is None:
            return False
        stack = self.reads.get_stack(tenant, name_or_id)
        if not self.relay.elsewhere(stack):
            if self.runner.runtime(stack["id"]) is not None:
                # requests relayed earlier (e.g. left for whoever took the stack over) first
                self.relay.act_on_pending([stack["id"]])
            return False
        self.relay.ask(stack, kind, body)
        return True

    def _act_relayed(self, stack: dict, kind: str, body: dict) -> None:
        """Act on a request another engine received for a stack this one runs."""
        tenant, stack_id = stack["tenant"], stack["id"]
        if kind == CANCEL:
            self.actions.cancel(tenant, stack_id, body["rollback"])
        elif kind == DELETE:
            self.delete_stack(tenant, stack_id)
        else:
            self.actions.signal_resource(tenant, stack_id, body["resource"], body["body"])

    # -- previews (nothing stored) -----------------------------------------------------------
    def preview_stack(self, tenant: str, body: dict) -> dict:
        return self.previews.preview_stack(tenant, body)

    def preview_update(self, tenant: str, name_or_id: str, body: dict,
                       patch: bool = False) -> dict:
        return self.previews.preview_update(tenant, name_or_id, body, patch)

    def update_plan(self, stack: dict, definition: dict) -> tuple[Plan, object, object, dict]:
        return self.previews.update_plan(stack, definition)

    def validate(self, body: dict) -> dict:
        return self.previews.validate(body)
