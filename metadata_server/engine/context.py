"""What a resource plugin may use: the store, the clock, its stack, the cloud driver, URLs."""
from __future__ import annotations

import secrets
import string
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from metadata_server.service.endpoints import Endpoints
from metadata_server.service.clock import Clock
from metadata_server.store import Store

if TYPE_CHECKING:  # pragma: no cover
    from metadata_server.engine.drivers.base import CloudDriver
    from metadata_server.engine.stack import Engine


@dataclass
class PluginContext:
    store: Store
    clock: Clock
    tenant: str
    stack_id: str
    stack_name: str
    endpoints: Endpoints
    driver: "CloudDriver"
    engine: "Engine"
    poll_interval: float = 0.2       # how often a waiting resource re-reads the store
    definition: dict | None = None   # the stack's stored definition (files, environment)
    parent_facade: Any = None        # for resource_facade inside a nested stack

    @staticmethod
    def short_id() -> str:
        alphabet = string.ascii_lowercase + string.digits
        return "".join(secrets.choice(alphabet) for _ in range(12))
