"""Every collector the agent knows, by the name used in `collectors =` of os-collect-config.conf."""
from __future__ import annotations

from typing import Any, Mapping

from collector.base import Collector
from collector.watch import WatchCollector

COLLECTORS: dict[str, type[Collector]] = {
    WatchCollector.name: WatchCollector,
}


def get(name: str) -> type[Collector]:
    return COLLECTORS[name]


def build(names: tuple[str, ...] | list[str], settings: Mapping[str, Mapping[str, Any]]) -> list[Collector]:
    """One instance per configured collector, in the configured order."""
    return [get(name)(settings.get(name, {})) for name in names]
