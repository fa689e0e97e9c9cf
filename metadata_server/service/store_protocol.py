"""What the service layer asks of a store: the seam between the domain and the database.

The service, the API blueprints and the engine's software resources are written against this
protocol, not against SQLAlchemy. Two things implement it: store/repository.py's `Store` (SQLite
or PostgreSQL) and service/memory_store.py's `MemoryStore`, the in-memory fake for unit tests.
tests/server/test_store_contract.py runs one table of behaviours against both, so the fake
cannot drift from the database.

Rows that matter to the domain come back as frozen records (store/records.py). Smaller rows
(operator tokens, signal attempts, credentials) are still dicts; docs/architecture.md says why.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, Callable, Protocol

from metadata_server.store.records import (ConfigRecord, ConfigSummary, DeploymentRecord,
                                           ServerRecord)

Row = dict[str, Any]


class ServiceStore(Protocol):
    # called with a server id after its document changed, so caches in this process drop it
    change_listeners: list[Callable[[str], None]]

    # -- software configs: immutable; a config in use by a deployment cannot be deleted --------
    def insert_config(self, config: ConfigRecord) -> None: ...

    def get_config(self, config_id: str, tenant: str | None = None) -> ConfigRecord | None: ...

    def list_configs(self, tenant: str, limit: int | None = None,
                     marker: ConfigRecord | None = None) -> list[ConfigSummary]:
        """Newest first, then by id; with a marker, those strictly after it in that order."""

    def config_in_use(self, config_id: str) -> bool: ...

    def delete_config(self, config_id: str) -> int:
        """Rows deleted (0 or 1), or -1 when a deployment still uses the config."""

    # -- software deployments ------------------------------------------------------------------
    def insert_deployment(self, deployment: DeploymentRecord) -> None:
        """Stored with version 1, whatever the record says."""

    def get_deployment(self, deployment_id: str,
                       tenant: str | None = None) -> DeploymentRecord | None: ...

    def list_deployments(self, tenant: str | None = None,
                         server_id: str | None = None) -> list[DeploymentRecord]:
        """Oldest first, then by id."""

    def deployments_with_configs(self, server_id: str, tenant: str | None = None
                                 ) -> list[tuple[DeploymentRecord, ConfigRecord]]:
        """The server's deployments, oldest first, each with its config (missing configs
        dropped)."""

    def overdue_deployments(self, now: datetime) -> list[DeploymentRecord]:
        """IN_PROGRESS deployments whose timeout_at is before `now`."""

    def update_deployment(self, deployment_id: str, expected_version: int, values: Row,
                          attempt: Row | None = None) -> bool:
        """Compare-and-swap on `version` (bumped by one); False when someone else wrote first,
        or when `attempt` (recorded in the same transaction) was already recorded."""

    def delete_deployment(self, deployment_id: str) -> int: ...

    def get_attempt(self, deployment_id: str, attempt_id: str) -> Row | None: ...

    def record_attempt(self, deployment_id: str, row: Row) -> bool:
        """False when that attempt was already recorded."""

    # -- servers and their credentials ---------------------------------------------------------
    def insert_server(self, record: ServerRecord, credentials: list[Row]) -> bool:
        """False, and nothing stored, when the id or a credential is taken."""

    def get_server(self, server_id: str, tenant: str | None = None) -> ServerRecord | None: ...

    def list_servers(self, tenant: str) -> list[ServerRecord]:
        """Oldest first, then by id."""

    def delete_server(self, server_id: str) -> int:
        """The server and all its credentials."""

    def add_credentials(self, server_id: str, credentials: list[Row],
                        revoke_others_at: datetime | None = None) -> None: ...

    def server_for_token(self, token_hash: str, now: datetime) -> ServerRecord | None:
        """The server of a credential neither revoked nor expired at `now`."""

    def server_with_access_key(self, server_id: str,
                               now: datetime) -> tuple[ServerRecord, str] | None:
        """The server and its current EC2 access key."""

    def server_for_access_key(self, access_key: str,
                              now: datetime) -> tuple[ServerRecord, str] | None:
        """The server owning a current EC2 access key, and the key's secret."""

    def mark_seen_many(self, seen: dict[str, datetime]) -> None:
        """Last-seen times, never moving one backwards."""

    # -- operator tokens -----------------------------------------------------------------------
    def insert_operator_token(self, row: Row) -> None: ...

    def operator_for_token(self, token_hash: str, now: datetime) -> Row | None: ...

    def list_operator_tokens(self) -> list[Row]: ...

    def revoke_operator_token(self, token_id: str, when: datetime) -> int:
        """1 when revoked now, 0 when unknown or already revoked."""

    # -- documents and secrets -----------------------------------------------------------------
    def record_change(self, server_id: str, when: datetime) -> None:
        """The server's document changed: bump its generation, tell every change listener."""

    def secret(self, name: str, create: Callable[[], str]) -> str:
        """The named secret, made with `create` on first use."""

    def set_secrets(self, values: dict[str, str]) -> None: ...
