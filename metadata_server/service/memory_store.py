"""MemoryStore: the service layer's store in memory, for unit tests that need no database.

It keeps the semantics the service relies on, and tests/server/test_store_contract.py holds it to
the real Store: tenant scoping, ordering, paging, uniqueness (a taken server id or credential is
refused as a whole), foreign keys (a config in use is not deleted), compare-and-swap on a
deployment's version with its signal attempt in the same step, and JSON values that come back
as copies, as a database round trip returns them. Not modelled: the text cleaning of
store/encodable.py, the document_change table other workers tail (record_change only bumps the
generation and tells this process's listeners), and concurrency beyond one lock.
"""
from __future__ import annotations

import json
import threading
from dataclasses import replace
from datetime import datetime
from typing import Any, Callable

from metadata_server.store.records import (ConfigRecord, ConfigSummary, DeploymentRecord,
                                           ServerRecord)

Row = dict[str, Any]
IN_PROGRESS = "IN_PROGRESS"


def _copy(value):
    """What a JSON column gives back: an equal value that shares nothing with what was stored."""
    return None if value is None else json.loads(json.dumps(value))


def _distinct(values: list) -> bool:
    return len(set(values)) == len(values)


def _current(row: Row, now: datetime) -> bool:
    return row.get("revoked_at") is None and (row.get("expires_at") is None
                                              or row["expires_at"] > now)


class MemoryStore:
    def __init__(self):
        self.change_listeners: list[Callable[[str], None]] = []
        self.changes: list[str] = []  # server ids, in the order their documents changed
        self._lock = threading.RLock()
        self._configs: dict[str, ConfigRecord] = {}
        self._deployments: dict[str, DeploymentRecord] = {}
        self._attempts: dict[tuple[str, str], Row] = {}
        self._servers: dict[str, ServerRecord] = {}
        # server credentials by id, with unique indexes as the table has them
        self._logins: dict[str, Row] = {}
        self._login_by_hash: dict[str, str] = {}
        self._login_by_key: dict[str, str] = {}
        self._operators: dict[str, Row] = {}
        self._operator_by_hash: dict[str, str] = {}
        self._secrets: dict[str, str] = {}

    # -- software configs ----------------------------------------------------------------------
    def insert_config(self, config: ConfigRecord) -> None:
        with self._lock:
            if config.id in self._configs:
                raise ValueError(f"software config {config.id} exists")
            self._configs[config.id] = replace(config, body=_copy(config.body))

    def get_config(self, config_id: str, tenant: str | None = None) -> ConfigRecord | None:
        found = self._configs.get(config_id)
        if found is None or (tenant is not None and found.tenant != tenant):
            return None
        return replace(found, body=_copy(found.body))

    def list_configs(self, tenant: str, limit: int | None = None,
                     marker: ConfigRecord | None = None) -> list[ConfigSummary]:
        with self._lock:
            mine = [c for c in self._configs.values() if c.tenant == tenant]
        # newest first, then id
        mine.sort(key=lambda c: c.id)
        mine.sort(key=lambda c: c.created_at, reverse=True)
        if marker is not None:
            mine = [c for c in mine if c.created_at < marker.created_at
                    or (c.created_at == marker.created_at and c.id > marker.id)]
        return [ConfigSummary(c.id, c.name, c.group, c.created_at) for c in mine[:limit]]

    def config_in_use(self, config_id: str) -> bool:
        with self._lock:
            return any(d.config_id == config_id for d in self._deployments.values())

    def delete_config(self, config_id: str) -> int:
        with self._lock:
            if self.config_in_use(config_id):
                return -1
            return 1 if self._configs.pop(config_id, None) is not None else 0

    # -- software deployments ------------------------------------------------------------------
    def insert_deployment(self, deployment: DeploymentRecord) -> None:
        with self._lock:
            if deployment.id in self._deployments:
                raise ValueError(f"software deployment {deployment.id} exists")
            if deployment.config_id not in self._configs:
                raise ValueError(f"software config {deployment.config_id} does not exist")
            self._deployments[deployment.id] = self._stored(deployment, version=1)

    @staticmethod
    def _stored(deployment: DeploymentRecord, **changes) -> DeploymentRecord:
        changed = replace(deployment, **changes)
        return replace(changed, input_values=_copy(changed.input_values),
                       output_values=_copy(changed.output_values))

    def get_deployment(self, deployment_id: str,
                       tenant: str | None = None) -> DeploymentRecord | None:
        found = self._deployments.get(deployment_id)
        if found is None or (tenant is not None and found.tenant != tenant):
            return None
        return self._stored(found)

    def list_deployments(self, tenant: str | None = None,
                         server_id: str | None = None) -> list[DeploymentRecord]:
        with self._lock:
            found = [d for d in self._deployments.values()
                     if (tenant is None or d.tenant == tenant)
                     and (server_id is None or d.server_id == server_id)]
        return [self._stored(d) for d in sorted(found, key=lambda d: (d.created_at, d.id))]

    def deployments_with_configs(self, server_id: str, tenant: str | None = None
                                 ) -> list[tuple[DeploymentRecord, ConfigRecord]]:
        with self._lock:
            return [(d, self.get_config(d.config_id))
                    for d in self.list_deployments(tenant, server_id)
                    if d.config_id in self._configs]

    def overdue_deployments(self, now: datetime) -> list[DeploymentRecord]:
        with self._lock:
            return [self._stored(d) for d in self._deployments.values()
                    if d.status == IN_PROGRESS and d.timeout_at is not None
                    and d.timeout_at < now]

    def update_deployment(self, deployment_id: str, expected_version: int, values: Row,
                          attempt: Row | None = None) -> bool:
        with self._lock:
            found = self._deployments.get(deployment_id)
            if found is None or found.version != expected_version:
                return False
            if attempt is not None and (deployment_id, attempt["attempt_id"]) in self._attempts:
                return False
            if "config_id" in values and values["config_id"] not in self._configs:
                raise ValueError(f"software config {values['config_id']} does not exist")
            self._deployments[deployment_id] = self._stored(found, **values,
                                                            version=expected_version + 1)
            if attempt is not None:
                self.record_attempt(deployment_id, attempt)
            return True

    def delete_deployment(self, deployment_id: str) -> int:
        with self._lock:
            # its signal attempts stay, as the table keeps them
            return 1 if self._deployments.pop(deployment_id, None) is not None else 0

    def get_attempt(self, deployment_id: str, attempt_id: str) -> Row | None:
        found = self._attempts.get((deployment_id, attempt_id))
        return None if found is None else dict(found, outcome=_copy(found["outcome"]))

    def record_attempt(self, deployment_id: str, row: Row) -> bool:
        with self._lock:
            key = (deployment_id, row["attempt_id"])
            if key in self._attempts:
                return False
            self._attempts[key] = dict(row, deployment_id=deployment_id,
                                       outcome=_copy(row.get("outcome")))
            return True

    # -- servers and their credentials ---------------------------------------------------------
    def insert_server(self, record: ServerRecord, credentials: list[Row]) -> bool:
        with self._lock:
            if record.id in self._servers or not self._may_add(credentials):
                return False
            self._servers[record.id] = replace(record, agent_info=_copy(record.agent_info))
            self._add(credentials)
            return True

    def _may_add(self, rows: list[Row]) -> bool:
        unique = [([r["token_hash"] for r in rows], self._login_by_hash),
                  ([r["access_key"] for r in rows if r.get("access_key") is not None],
                   self._login_by_key)]
        return all(_distinct(values) and not any(v in index for v in values)
                   for values, index in unique)

    def _add(self, rows: list[Row]) -> None:
        for row in rows:
            kept = {"kind": "token", "revoked_at": None, "access_key": None, "secret_key": None,
                    "expires_at": None, **row}
            self._logins[kept["id"]] = kept
            self._login_by_hash[kept["token_hash"]] = kept["id"]
            if kept["access_key"] is not None:
                self._login_by_key[kept["access_key"]] = kept["id"]

    def get_server(self, server_id: str, tenant: str | None = None) -> ServerRecord | None:
        found = self._servers.get(server_id)
        if found is None or (tenant is not None and found.tenant != tenant):
            return None
        return replace(found, agent_info=_copy(found.agent_info))

    def list_servers(self, tenant: str) -> list[ServerRecord]:
        with self._lock:
            mine = [s for s in self._servers.values() if s.tenant == tenant]
        return [self.get_server(s.id) for s in sorted(mine, key=lambda s: (s.created_at, s.id))]

    def delete_server(self, server_id: str) -> int:
        with self._lock:
            for row in [r for r in self._logins.values() if r["server_id"] == server_id]:
                del self._logins[row["id"]]
                self._login_by_hash.pop(row["token_hash"])
                if row["access_key"] is not None:
                    self._login_by_key.pop(row["access_key"])
            return 1 if self._servers.pop(server_id, None) is not None else 0

    def add_credentials(self, server_id: str, credentials: list[Row],
                        revoke_others_at: datetime | None = None) -> None:
        with self._lock:
            if server_id not in self._servers or not self._may_add(credentials):
                raise ValueError(f"credentials for server {server_id} cannot be added")
            if revoke_others_at is not None:
                for row in self._logins.values():
                    if row["server_id"] == server_id and row["revoked_at"] is None:
                        row["revoked_at"] = revoke_others_at
            self._add(credentials)

    def _login(self, index: dict[str, str], value: str, now: datetime) -> Row | None:
        found = self._logins.get(index.get(value, ""))
        return found if found is not None and _current(found, now) else None

    def server_for_token(self, token_hash: str, now: datetime) -> ServerRecord | None:
        with self._lock:
            found = self._login(self._login_by_hash, token_hash, now)
            return None if found is None else self.get_server(found["server_id"])

    def server_with_access_key(self, server_id: str,
                               now: datetime) -> tuple[ServerRecord, str] | None:
        with self._lock:
            server = self.get_server(server_id)
            for row in self._logins.values():
                if (server is not None and row["server_id"] == server_id
                        and row["kind"] == "ec2" and _current(row, now)):
                    return server, row["access_key"]
        return None

    def server_for_access_key(self, access_key: str,
                              now: datetime) -> tuple[ServerRecord, str] | None:
        with self._lock:
            found = self._login(self._login_by_key, access_key, now)
            if found is None:
                return None
            return self.get_server(found["server_id"]), found["secret_key"]

    def mark_seen_many(self, seen: dict[str, datetime]) -> None:
        with self._lock:
            for server_id, when in seen.items():
                found = self._servers.get(server_id)
                if found is not None and (found.last_seen_at is None or found.last_seen_at < when):
                    self._servers[server_id] = replace(found, last_seen_at=when)

    # -- operator tokens -----------------------------------------------------------------------
    def insert_operator_token(self, row: Row) -> None:
        with self._lock:
            if row["id"] in self._operators or row["token_hash"] in self._operator_by_hash:
                raise ValueError("operator token exists")
            self._operators[row["id"]] = dict({"tenant": None, "expires_at": None,
                                               "revoked_at": None}, **row)
            self._operator_by_hash[row["token_hash"]] = row["id"]

    def operator_for_token(self, token_hash: str, now: datetime) -> Row | None:
        found = self._operators.get(self._operator_by_hash.get(token_hash, ""))
        return dict(found) if found is not None and _current(found, now) else None

    def list_operator_tokens(self) -> list[Row]:
        with self._lock:
            return [dict(r) for r in sorted(self._operators.values(),
                                            key=lambda r: r["created_at"])]

    def revoke_operator_token(self, token_id: str, when: datetime) -> int:
        with self._lock:
            found = self._operators.get(token_id)
            if found is None or found["revoked_at"] is not None:
                return 0
            found["revoked_at"] = when
            return 1

    # -- documents and secrets -----------------------------------------------------------------
    def record_change(self, server_id: str, when: datetime) -> None:
        with self._lock:
            self.changes.append(server_id)
            found = self._servers.get(server_id)
            if found is not None:
                self._servers[server_id] = replace(found, generation=found.generation + 1)
        for listener in list(self.change_listeners):
            listener(server_id)

    def secret(self, name: str, create: Callable[[], str]) -> str:
        with self._lock:
            if name not in self._secrets:
                self._secrets[name] = create()
            return self._secrets[name]

    def set_secrets(self, values: dict[str, str]) -> None:
        with self._lock:
            self._secrets.update(values)
