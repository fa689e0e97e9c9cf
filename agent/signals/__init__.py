"""Signal transports: how a deployment's result gets back to the server.

The transport is chosen by which inputs the item carries, as heat-config-notify does (not by
`deploy_signal_transport`): the first registered input name present wins; none means NO_SIGNAL.
"""
from __future__ import annotations

from typing import Callable

from agent.deployment import input_values
from agent.signals.base import SignalError, SignalTransport
from agent.signals.url import UrlTransport

__all__ = ["REGISTRY", "SignalError", "SignalTransport", "TransportSelector"]

# (input whose presence selects the transport, factory), in heat-config-notify's order.
# HEAT_SIGNAL (deploy_auth_url) and ZAQAR_SIGNAL (deploy_queue_id) are not implemented yet.
REGISTRY: list[tuple[str, Callable[[], SignalTransport]]] = [
    ("deploy_signal_id", UrlTransport),
]


class TransportSelector:
    """Picks the transport for an item; one instance per transport kind, so HTTP sessions are reused."""

    def __init__(self, registry: list[tuple[str, Callable[[], SignalTransport]]] | None = None):
        self._registry = REGISTRY if registry is None else registry
        self._instances: dict[str, SignalTransport] = {}

    def __call__(self, item: dict) -> SignalTransport | None:
        values = input_values(item)
        for input_name, factory in self._registry:
            if input_name in values:
                if input_name not in self._instances:
                    self._instances[input_name] = factory()
                return self._instances[input_name]
        return None
