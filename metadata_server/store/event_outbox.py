"""The event outbox: one row per (event, sink) still to deliver, written in the same transaction
as the events themselves (StackStore.apply), so an event the API shows is never lost to its
sinks by a crash. The delivery worker (service/event_sinks.py) claims, deletes and reschedules
rows here; several processes may share the table (a claim is a compare-and-swap on next_at).
"""
from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict

from sqlalchemy import (JSON, Column, Float, Integer, String, Table, Text, delete, func, insert,
                        select, update)

from metadata_server.store.event_sinks_spec import (SERVER, EventSource, payload, sink_key,
                                                     sink_problem)
from metadata_server.store.stack_tables import stack
from metadata_server.store.tables import metadata

log = logging.getLogger("stoker.event_sinks")

event_outbox = Table(
    "event_outbox", metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("event_id", String(36), nullable=False),
    Column("tenant", String(64), nullable=False, index=True),
    Column("stack_id", String(36), nullable=False),   # no foreign key: a purged stack's
    Column("sink_key", String(2080), nullable=False),  # events are still delivered
    Column("sink", JSON, nullable=False),
    Column("body", JSON, nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("created_at", Float, nullable=False),      # epoch seconds: the give-up age
    Column("next_at", Float, nullable=False, index=True),
    Column("last_error", Text),
)


class OutboxSettings:
    """What the process that writes events knows: whether a server-wide sink exists, whether a
    Zaqar is configured (stacks with zaqar-queue sinks are refused without one), and how many
    undelivered rows one tenant may have (past it, new ones are dropped and counted)."""

    def __init__(self):
        self.server_sink = False
        self.zaqar = False
        self.max_pending_per_tenant = 10000
        self.dropped = 0            # read by the metrics (no other seam reaches the engine)
        self.wake = threading.Event()


SETTINGS = OutboxSettings()
_sinks_cache: "OrderedDict[tuple, list[dict]]" = OrderedDict()
_cache_lock = threading.Lock()
CACHE_SIZE = 1024


def _stack_sinks(conn, stack_id: str, updated_at) -> list[dict]:
    """The event_sinks of a stack's environment, as the engine kept them with its definition
    when it bound it (runtimes.py): read once per stack version, never parsed here."""
    key = (stack_id, updated_at)
    with _cache_lock:
        if key in _sinks_cache:
            _sinks_cache.move_to_end(key)
            return _sinks_cache[key]
    definition = conn.execute(select(stack.c.definition).where(stack.c.id == stack_id)
                              ).scalar_one_or_none() or {}
    sinks = [s for s in definition.get("event_sinks") or () if sink_problem(s) is None]
    with _cache_lock:
        _sinks_cache[key] = sinks
        while len(_sinks_cache) > CACHE_SIZE:
            _sinks_cache.popitem(last=False)
    return sinks


def enqueue(conn, events: list[dict], now: float | None = None,
            known: dict[str, EventSource] | None = None) -> int:
    """Outbox rows for `events`, on the caller's connection (its transaction). `known`: the
    stacks the caller already knows, by id, their sinks checked (event_source); with no
    server-wide sink and none of them having sinks, a batch costs no query at all (the engine's
    common case)."""
    known = known or {}
    sources: dict[str, EventSource] = {}
    unknown = set()
    for event in events:
        source = known.get(event["stack_id"])
        if source is None:
            unknown.add(event["stack_id"])
        else:
            sources[event["stack_id"]] = source
    if not unknown and not SETTINGS.server_sink and not any(s.sinks for s in sources.values()):
        return 0
    if unknown:
        columns = (stack.c.id, stack.c.tenant, stack.c.name, stack.c.updated_at)
        for found in conn.execute(select(*columns).where(stack.c.id.in_(sorted(unknown)))):
            sources[found.id] = EventSource(found.tenant, found.name, tuple(
                _stack_sinks(conn, found.id, found.updated_at)))
    now = time.time() if now is None else now
    rows, pending = [], {}
    for event in events:
        found = sources.get(event["stack_id"])
        if found is None:
            continue
        sinks = list(found.sinks)
        if SETTINGS.server_sink:
            sinks.append({"type": SERVER})
        if not sinks:
            continue
        if found.tenant not in pending:
            pending[found.tenant] = conn.execute(
                select(func.count()).select_from(event_outbox)
                .where(event_outbox.c.tenant == found.tenant)).scalar_one()
        body = payload(event, found.name, found.tenant)
        for sink in sinks:
            if pending[found.tenant] >= SETTINGS.max_pending_per_tenant:
                SETTINGS.dropped += 1
                log.warning("event sinks: tenant %s has %d undelivered events; event %s "
                            "dropped", found.tenant, pending[found.tenant], event["id"])
                continue
            pending[found.tenant] += 1
            rows.append({"event_id": event["id"], "tenant": found.tenant,
                         "stack_id": event["stack_id"], "sink_key": sink_key(sink), "sink": sink,
                         "body": body, "attempts": 0, "created_at": now, "next_at": now})
    if rows:
        conn.execute(insert(event_outbox), rows)
        SETTINGS.wake.set()
    return len(rows)


class Outbox:
    """The delivery worker's queries."""

    def __init__(self, engine):
        self.engine = engine

    def due(self, now: float, limit: int, skip_keys: list[str] = ()) -> list[dict]:
        """Rows to try now, oldest first, but none of the sinks in `skip_keys` (busy ones)."""
        stmt = select(event_outbox).where(event_outbox.c.next_at <= now)
        if skip_keys:
            stmt = stmt.where(event_outbox.c.sink_key.not_in(list(skip_keys)))
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(
                stmt.order_by(event_outbox.c.next_at, event_outbox.c.seq).limit(limit))]

    def claim(self, row: dict, until: float) -> bool:
        """Take `row` for one attempt, unless another process just did (CAS on next_at)."""
        with self.engine.begin() as conn:
            return conn.execute(update(event_outbox).where(
                event_outbox.c.seq == row["seq"], event_outbox.c.next_at == row["next_at"])
                .values(next_at=until)).rowcount == 1

    def done(self, seq: int) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(event_outbox).where(event_outbox.c.seq == seq))

    def retry(self, seq: int, attempts: int, next_at: float, error: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(event_outbox).where(event_outbox.c.seq == seq).values(
                attempts=attempts, next_at=next_at, last_error=error[:500]))

    def pending(self) -> int:
        with self.engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(event_outbox)).scalar_one()
