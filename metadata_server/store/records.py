"""The rows that cross from the store to the service and the API, as frozen dataclasses.

Plain data with no SQLAlchemy in sight: the store builds them from its rows, the in-memory fake
(service/memory_store.py) keeps them as they are, and the API turns them into Heat's JSON shapes
(service/configs.py, deployments.py, servers.py). A record is a snapshot: a change goes through
the store and is read back as a new record (`dataclasses.replace` makes an altered copy for
display, never a write).

Values held in JSON columns (a config's body, a deployment's input and output values) are the
caller's documents in Heat's shape and stay dicts.
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class ConfigRecord:
    """A software config: immutable once made."""
    id: str
    tenant: str
    name: str | None
    group: str | None
    # {"config": str|map, "inputs": [...], "outputs": [...], "options": {...}}, as Heat keeps it
    body: dict
    created_at: datetime

    @property
    def outputs(self) -> list[dict]:
        return self.body.get("outputs") or []

    @property
    def inputs(self) -> list[dict]:
        return self.body.get("inputs") or []


@dataclass(frozen=True)
class ConfigSummary:
    """A config as a listing shows it: no body, which can be large."""
    id: str
    name: str | None
    group: str | None
    created_at: datetime


@dataclass(frozen=True)
class DeploymentRecord:
    """A software deployment: which config a server should apply, and where that stands."""
    id: str
    tenant: str
    server_id: str
    config_id: str
    input_values: dict | None
    output_values: dict | None
    action: str | None
    status: str | None
    status_reason: str | None
    stack_user_project_id: str | None
    created_at: datetime
    updated_at: datetime | None = None
    timeout_at: datetime | None = None  # the server fails it after this, saying what it knows
    phase: str | None = None  # what the agent last reported: received, running, ...
    last_signal_at: datetime | None = None
    # bumped on every write; writers compare-and-swap on it (optimistic concurrency)
    version: int = 1


@dataclass(frozen=True)
class ServerRecord:
    """A registered server (its credentials are kept apart and never leave the store)."""
    id: str
    tenant: str
    name: str
    created_at: datetime
    last_seen_at: datetime | None = None
    generation: int = 0  # bumped whenever the server's document changes
    agent_info: dict | None = None


def to_row(record) -> dict[str, Any]:
    """The record's fields as a row to insert (shallow: JSON values are the same objects)."""
    return {f.name: getattr(record, f.name) for f in fields(record)}
