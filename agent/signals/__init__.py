"""Signal transports: how a deployment's result gets back to the server. One module per transport:

| transport        | module      | chosen when the inputs carry                            |
|------------------|-------------|---------------------------------------------------------|
| TEMP_URL_SIGNAL  | temp_url.py | deploy_signal_id, and deploy_signal_transport says so   |
| CFN_SIGNAL       | cfn.py      | deploy_signal_id (stoker's own signal URLs too)         |
| ZAQAR_SIGNAL     | zaqar.py    | deploy_queue_id                                         |
| HEAT_SIGNAL      | heat.py     | deploy_auth_url                                         |
| NO_SIGNAL        | (none)      | none of these: nothing is sent                          |

As heat-config-notify, the choice goes by which inputs are present, in this order; the declared
`deploy_signal_transport` only separates a Swift temp URL (always PUT) from a CFN URL.
"""
from __future__ import annotations

from typing import Callable

from agent.deployment import input_values
from agent.signals.base import SignalError, SignalTransport
from agent.signals.cfn import CfnTransport
from agent.signals.heat import HeatTransport
from agent.signals.temp_url import TempUrlTransport
from agent.signals.zaqar import ZaqarTransport

__all__ = ["REGISTRY", "SignalError", "SignalTransport", "TransportSelector", "transport_name"]

Rule = Callable[[dict], bool]

# (transport name, rule over the item's input values, factory), first match wins.
REGISTRY: list[tuple[str, Rule, Callable[[], SignalTransport]]] = [
    ("TEMP_URL_SIGNAL", lambda v: "deploy_signal_id" in v and v.get("deploy_signal_transport") == "TEMP_URL_SIGNAL",
     TempUrlTransport),
    ("CFN_SIGNAL", lambda v: "deploy_signal_id" in v, CfnTransport),
    ("ZAQAR_SIGNAL", lambda v: "deploy_queue_id" in v, ZaqarTransport),
    ("HEAT_SIGNAL", lambda v: "deploy_auth_url" in v, HeatTransport),
]


def transport_name(item: dict) -> str:
    values = input_values(item)
    for name, rule, _ in REGISTRY:
        if rule(values):
            return name
    return "NO_SIGNAL"


class TransportSelector:
    """Picks the transport for an item; one instance per transport kind, so kept-alive HTTP
    connections and keystone tokens are reused. `registry` has REGISTRY's form (tests put fakes
    behind its rules)."""

    def __init__(self, registry: list[tuple[str, Rule, Callable[[], SignalTransport]]] | None = None):
        self._registry = REGISTRY if registry is None else registry
        self._instances: dict[str, SignalTransport] = {}

    def __call__(self, item: dict) -> SignalTransport | None:
        values = input_values(item)
        for name, rule, factory in self._registry:
            if rule(values):
                if name not in self._instances:
                    self._instances[name] = factory()
                return self._instances[name]
        return None
