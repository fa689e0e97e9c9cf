"""Each server's recent metric samples, as its agent sent them (migration 0007).

One row per accepted batch, so taking a batch is one INSERT however long the window is. The
window is bounded by age (rows whose newest sample is older than the retention go) and by count
(a server keeps its newest `max_batches` rows); both are enforced by `prune`, which the server's
background thread runs, and the ingest route's per-server rate limit bounds what can arrive
between two prunes. Times are epoch seconds.
"""
from __future__ import annotations

from typing import Iterable

from sqlalchemy import (JSON, Column, Float, Index, Integer, String, Table, and_, delete, func,
                        insert, select)

from metadata_server.store.queries import Queries
from metadata_server.store.tables import metadata

metric_batch = Table(
    "metric_batch", metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("server_id", String(255), nullable=False),
    Column("tenant", String(64), nullable=False),
    Column("received_at", Float, nullable=False),
    Column("oldest", Float, nullable=False),   # the batch's first and last sample times
    Column("newest", Float, nullable=False),
    Column("samples", JSON, nullable=False),   # [[time, {name: value}], ...], oldest first
)
Index("ix_metric_batch_server_newest", metric_batch.c.server_id, metric_batch.c.newest)
Index("ix_metric_batch_newest", metric_batch.c.newest)

# the most server ids one read names (an IN list); more are read in several
READ_CHUNK = 500

Sample = tuple[float, dict[str, float]]


class MetricWindow(Queries):
    def add_batch(self, server_id: str, tenant: str, received_at: float,
                  samples: list[Sample]) -> None:
        times = [t for t, _ in samples]
        self._write(insert(metric_batch).values(
            server_id=server_id, tenant=tenant, received_at=received_at, oldest=min(times),
            newest=max(times), samples=[[t, values] for t, values in samples]))

    def samples_since(self, server_ids: Iterable[str], start: float
                      ) -> dict[str, list[Sample]]:
        """server id -> its samples at or after `start`, oldest first."""
        ids = sorted(set(server_ids))
        found: dict[str, list[Sample]] = {i: [] for i in ids}
        b = metric_batch.c
        for at in range(0, len(ids), READ_CHUNK):
            stmt = (select(b.server_id, b.samples)
                    .where(b.server_id.in_(ids[at:at + READ_CHUNK]), b.newest >= start)
                    .order_by(b.server_id, b.seq))
            with self.engine.connect() as conn:
                for server_id, samples in conn.execute(stmt):
                    found[server_id].extend((float(t), values) for t, values in samples
                                            if t >= start)
        for samples in found.values():
            samples.sort(key=lambda sample: sample[0])
        return found

    def latest(self, server_id: str) -> Sample | None:
        """The server's newest sample (the dashboard and tests show it)."""
        b = metric_batch.c
        row = self._one(select(b.samples).where(b.server_id == server_id)
                        .order_by(b.newest.desc()).limit(1))
        if row is None:
            return None
        t, values = max(row["samples"], key=lambda sample: sample[0])
        return float(t), values

    def latest_per_server(self, tenant: str | None, limit: int
                          ) -> list[tuple[str, str, float, dict[str, float]]]:
        """(server id, tenant, time, values) of each server's newest sample, in one tenant or in
        all, for at most `limit` servers (those with the newest batches first)."""
        b = metric_batch.c
        newest = select(func.max(b.seq).label("seq")).group_by(b.server_id)
        if tenant is not None:
            newest = newest.where(b.tenant == tenant)
        newest = newest.subquery()
        stmt = (select(b.server_id, b.tenant, b.samples).join(newest, b.seq == newest.c.seq)
                .order_by(b.seq.desc()).limit(limit))
        with self.engine.connect() as conn:
            rows = conn.execute(stmt).all()
        found = []
        for server_id, owner, samples in rows:
            t, values = max(samples, key=lambda sample: sample[0])
            found.append((server_id, owner, float(t), values))
        return sorted(found)

    def prune(self, older_than: float, max_batches: int) -> int:
        """Drop batches whose newest sample is before `older_than`, then each server's batches
        beyond its newest `max_batches`; how many rows went."""
        b = metric_batch.c
        with self.engine.begin() as conn:
            gone = conn.execute(delete(metric_batch).where(b.newest < older_than)).rowcount
            rank = (select(b.seq, func.row_number().over(partition_by=b.server_id,
                                                         order_by=b.seq.desc()).label("n"))
                    .subquery())
            beyond = select(rank.c.seq).where(rank.c.n > max_batches)
            gone += conn.execute(delete(metric_batch).where(b.seq.in_(beyond))).rowcount
        return gone

    def count(self, server_id: str | None = None) -> int:
        stmt = select(func.count()).select_from(metric_batch)
        if server_id is not None:
            stmt = stmt.where(and_(metric_batch.c.server_id == server_id))
        with self.engine.connect() as conn:
            return conn.execute(stmt).scalar_one()
