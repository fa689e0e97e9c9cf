"""The Store: every query the service layer needs, and nothing the service should decide.

It implements service/store_protocol.py's ServiceStore. Configs, deployments and servers come
back as the frozen records of store/records.py, other rows as plain dicts, so the service layer
never sees SQLAlchemy objects.
"""
from __future__ import annotations

import threading
from datetime import datetime
from typing import Callable

from sqlalchemy import and_, delete, event, func, insert, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from metadata_server.store import notify
from metadata_server.store.encodable import clean_bound_text
from metadata_server.store.queries import Queries, Row
from metadata_server.store.records import (ConfigRecord, ConfigSummary, DeploymentRecord,
                                           ServerRecord, to_row)
from metadata_server.store.tables import (document_change, operator_token, secret, server,
                                          server_credential,
                                          signal_attempt, software_config, software_deployment)

BACKGROUND_THREAD = "stoker-background"


class Store(Queries):
    def __init__(self, engine: Engine):
        super().__init__(engine)
        # called with a server id after its document changed, so caches in this process
        # drop it at once; other processes learn it by NOTIFY (PostgreSQL) and from the
        # document_change table (background.py)
        self.change_listeners: list[Callable[[str], None]] = []
        self.own_changes: set[int] = set()  # document_change rows this process wrote
        # statements executed by this process, for /metrics and benchmarks: those of requests
        # apart from those of the background thread (background.py)
        self.queries = {"request": 0, "background": 0}
        event.listen(engine, "before_cursor_execute", self._count)
        event.listen(engine, "before_cursor_execute", clean_bound_text, retval=True)

    def _count(self, *_args) -> None:
        origin = "background" if threading.current_thread().name == BACKGROUND_THREAD else "request"
        self.queries[origin] += 1

    # -- software configs --------------------------------------------------------------------
    def insert_config(self, config: ConfigRecord) -> None:
        self._write(insert(software_config).values(**to_row(config)))

    def get_config(self, config_id: str, tenant: str | None = None) -> ConfigRecord | None:
        stmt = select(software_config).where(software_config.c.id == config_id)
        if tenant is not None:
            stmt = stmt.where(software_config.c.tenant == tenant)
        return _record(ConfigRecord, self._one(stmt))

    def list_configs(self, tenant: str, limit: int | None = None,
                     marker: ConfigRecord | None = None) -> list[ConfigSummary]:
        c = software_config.c
        stmt = select(c.id, c.name, c.group, c.created_at).where(c.tenant == tenant)
        if marker is not None:
            # newest first, then id: continue strictly after the marker in that order
            stmt = stmt.where((c.created_at < marker.created_at) | and_(
                c.created_at == marker.created_at, c.id > marker.id))
        stmt = stmt.order_by(c.created_at.desc(), c.id)
        if limit is not None:
            stmt = stmt.limit(limit)
        return [ConfigSummary(**row) for row in self._all(stmt)]

    def config_in_use(self, config_id: str) -> bool:
        stmt = select(func.count()).select_from(software_deployment).where(
            software_deployment.c.config_id == config_id)
        with self.engine.connect() as conn:
            return conn.execute(stmt).scalar_one() > 0

    def delete_config(self, config_id: str) -> int:
        try:
            return self._write(delete(software_config).where(software_config.c.id == config_id))
        except IntegrityError:
            # a deployment was created against it since config_in_use() was asked
            return -1

    # -- software deployments ----------------------------------------------------------------
    def insert_deployment(self, deployment: DeploymentRecord) -> None:
        self._write(insert(software_deployment).values(dict(to_row(deployment), version=1)))

    def get_deployment(self, deployment_id: str,
                       tenant: str | None = None) -> DeploymentRecord | None:
        stmt = select(software_deployment).where(software_deployment.c.id == deployment_id)
        if tenant is not None:
            stmt = stmt.where(software_deployment.c.tenant == tenant)
        return _record(DeploymentRecord, self._one(stmt))

    def overdue_deployments(self, now: datetime) -> list[DeploymentRecord]:
        d = software_deployment.c
        return [DeploymentRecord(**row) for row in self._all(select(software_deployment).where(
            d.status == "IN_PROGRESS", d.timeout_at.is_not(None), d.timeout_at < now))]

    def list_deployments(self, tenant: str | None = None,
                         server_id: str | None = None) -> list[DeploymentRecord]:
        d = software_deployment.c
        stmt = select(software_deployment)
        if tenant is not None:
            stmt = stmt.where(d.tenant == tenant)
        if server_id is not None:
            stmt = stmt.where(d.server_id == server_id)
        return [DeploymentRecord(**row) for row in self._all(stmt.order_by(d.created_at, d.id))]

    def deployments_with_configs(self, server_id: str, tenant: str | None = None
                                 ) -> list[tuple[DeploymentRecord, ConfigRecord]]:
        """The server's deployments, oldest first, each with its config (missing configs dropped)."""
        d, c = software_deployment.c, software_config.c
        stmt = (select(software_deployment, c.tenant.label("config_tenant"),
                       c.name.label("config_name"),
                       c.group.label("config_group"), c.body.label("config_body"),
                       c.created_at.label("config_created_at"))
                .join(software_config, d.config_id == c.id)
                .where(d.server_id == server_id)
                .order_by(d.created_at, d.id))
        if tenant is not None:
            stmt = stmt.where(d.tenant == tenant)
        pairs = []
        for row in self._all(stmt):
            config = ConfigRecord(id=row["config_id"], tenant=row.pop("config_tenant"),
                                  name=row.pop("config_name"), group=row.pop("config_group"),
                                  body=row.pop("config_body"),
                                  created_at=row.pop("config_created_at"))
            pairs.append((DeploymentRecord(**row), config))
        return pairs

    def update_deployment(self, deployment_id: str, expected_version: int, values: Row,
                          attempt: Row | None = None) -> bool:
        """Compare-and-swap on `version`; False when someone else wrote first.

        With `attempt`, the signal attempt is recorded in the same transaction, so a result and
        the record that it was applied are never separated.
        """
        d = software_deployment.c
        stmt = (update(software_deployment)
                .where(d.id == deployment_id, d.version == expected_version)
                .values(version=expected_version + 1, **values))
        try:
            with self.engine.begin() as conn:
                if conn.execute(stmt).rowcount != 1:
                    conn.rollback()
                    return False
                if attempt is not None:
                    conn.execute(insert(signal_attempt).values(deployment_id=deployment_id,
                                                               **attempt))
        except IntegrityError:
            return False  # the same attempt was recorded concurrently; the caller re-reads
        return True

    def get_attempt(self, deployment_id: str, attempt_id: str) -> Row | None:
        a = signal_attempt.c
        return self._one(select(signal_attempt).where(a.deployment_id == deployment_id,
                                                      a.attempt_id == attempt_id))

    def record_attempt(self, deployment_id: str, row: Row) -> bool:
        try:
            self._write(insert(signal_attempt).values(deployment_id=deployment_id, **row))
        except IntegrityError:
            return False
        return True

    def delete_deployment(self, deployment_id: str) -> int:
        return self._write(delete(software_deployment).where(software_deployment.c.id == deployment_id))

    # -- servers and credentials -------------------------------------------------------------
    def insert_server(self, record: ServerRecord, credentials: list[Row]) -> bool:
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(server).values(**to_row(record)))
                for credential in credentials:
                    conn.execute(insert(server_credential).values(**credential))
        except IntegrityError:
            return False
        return True

    def get_server(self, server_id: str, tenant: str | None = None) -> ServerRecord | None:
        stmt = select(server).where(server.c.id == server_id)
        if tenant is not None:
            stmt = stmt.where(server.c.tenant == tenant)
        return _record(ServerRecord, self._one(stmt))

    def list_servers(self, tenant: str) -> list[ServerRecord]:
        return [ServerRecord(**row) for row in self._all(
            select(server).where(server.c.tenant == tenant)
            .order_by(server.c.created_at, server.c.id))]

    def delete_server(self, server_id: str) -> int:
        with self.engine.begin() as conn:
            conn.execute(delete(server_credential).where(server_credential.c.server_id == server_id))
            return conn.execute(delete(server).where(server.c.id == server_id)).rowcount

    def server_for_token(self, token_hash: str, now: datetime) -> ServerRecord | None:
        cred = server_credential.c
        stmt = (select(server)
                .join(server_credential, cred.server_id == server.c.id)
                .where(cred.token_hash == token_hash, cred.revoked_at.is_(None),
                       cred.expires_at.is_(None) | (cred.expires_at > now)))
        return _record(ServerRecord, self._one(stmt))

    def operator_for_token(self, token_hash: str, now: datetime) -> Row | None:
        t = operator_token.c
        return self._one(select(operator_token).where(
            t.token_hash == token_hash, t.revoked_at.is_(None),
            t.expires_at.is_(None) | (t.expires_at > now)))

    def insert_operator_token(self, row: Row) -> None:
        self._write(insert(operator_token).values(**row))

    def list_operator_tokens(self) -> list[Row]:
        return self._all(select(operator_token).order_by(operator_token.c.created_at))

    def revoke_operator_token(self, token_id: str, when: datetime) -> int:
        return self._write(update(operator_token).where(operator_token.c.id == token_id,
                                                        operator_token.c.revoked_at.is_(None))
                           .values(revoked_at=when))

    def add_credentials(self, server_id: str, credentials: list[Row],
                        revoke_others_at: datetime | None = None) -> None:
        with self.engine.begin() as conn:
            if revoke_others_at is not None:
                conn.execute(update(server_credential)
                             .where(server_credential.c.server_id == server_id,
                                    server_credential.c.revoked_at.is_(None))
                             .values(revoked_at=revoke_others_at))
            for credential in credentials:
                conn.execute(insert(server_credential).values(**credential))

    def server_with_access_key(self, server_id: str,
                               now: datetime) -> tuple[ServerRecord, str] | None:
        """The server and its current EC2 access key."""
        cred = server_credential.c
        stmt = (select(server, cred.access_key)
                .join(server_credential, cred.server_id == server.c.id)
                .where(server.c.id == server_id, cred.kind == "ec2", cred.revoked_at.is_(None),
                       cred.expires_at.is_(None) | (cred.expires_at > now)))
        row = self._one(stmt)
        if row is None:
            return None
        access_key = row.pop("access_key")
        return ServerRecord(**row), access_key

    def server_for_access_key(self, access_key: str,
                              now: datetime) -> tuple[ServerRecord, str] | None:
        """The server owning an EC2-style access key, and the key's secret."""
        cred = server_credential.c
        stmt = (select(server, cred.secret_key)
                .join(server_credential, cred.server_id == server.c.id)
                .where(cred.access_key == access_key, cred.revoked_at.is_(None),
                       cred.expires_at.is_(None) | (cred.expires_at > now)))
        row = self._one(stmt)
        if row is None:
            return None
        secret_key = row.pop("secret_key")
        return ServerRecord(**row), secret_key

    def mark_seen(self, server_id: str, when: datetime) -> None:
        self._write(update(server).where(server.c.id == server_id).values(last_seen_at=when))

    def mark_seen_many(self, seen: dict[str, datetime]) -> None:
        """One transaction for a batch of last-seen times (never moving a time backwards)."""
        if not seen:
            return
        with self.engine.begin() as conn:
            for server_id, when in seen.items():
                conn.execute(update(server).where(
                    server.c.id == server_id,
                    (server.c.last_seen_at.is_(None)) | (server.c.last_seen_at < when))
                    .values(last_seen_at=when))

    def credentials_of(self, server_id: str) -> list[Row]:
        return self._all(select(server_credential).where(server_credential.c.server_id == server_id))

    # -- document changes ----------------------------------------------------------------------
    def record_change(self, server_id: str, when: datetime) -> None:
        with self.engine.begin() as conn:
            inserted = conn.execute(insert(document_change).values(server_id=server_id,
                                                                   created_at=when))
            seq = inserted.inserted_primary_key[0]
            self.own_changes.add(seq)
            # other processes drop the document on commit, not at their next look at the table
            notify.send(conn, notify.CHANGES, f"{seq}:{server_id}")
            conn.execute(update(server).where(server.c.id == server_id)
                         .values(generation=server.c.generation + 1))
        for listener in list(self.change_listeners):
            listener(server_id)

    def changes_since(self, seq: int, limit: int = 10000) -> list[Row]:
        c = document_change.c
        return self._all(select(c.seq, c.server_id).where(c.seq > seq).order_by(c.seq).limit(limit))

    def last_change_seq(self) -> int:
        with self.engine.connect() as conn:
            return conn.execute(select(func.max(document_change.c.seq))).scalar() or 0

    def prune_changes(self, before: datetime) -> int:
        return self._write(delete(document_change).where(document_change.c.created_at < before))

    # -- secrets ---------------------------------------------------------------------------
    def secret(self, name: str, create: Callable[[], str]) -> str:
        """The named secret, created on first use; concurrent first uses agree on one value."""
        row = self._one(select(secret.c.value).where(secret.c.name == name))
        if row is not None:
            return row["value"]
        try:
            self._write(insert(secret).values(name=name, value=create()))
        except IntegrityError:
            pass
        return self._one(select(secret.c.value).where(secret.c.name == name))["value"]

    def set_secrets(self, values: dict[str, str]) -> None:
        """Replace (or create) the named secrets together, in one transaction."""
        with self.engine.begin() as conn:
            for name, value in values.items():
                if not conn.execute(update(secret).where(secret.c.name == name)
                                    .values(value=value)).rowcount:
                    conn.execute(insert(secret).values(name=name, value=value))


def _record(kind: type, row: Row | None):
    return kind(**row) if row is not None else None
