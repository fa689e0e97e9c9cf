"""Every collector the agent knows, by the name used in `collectors =` of os-collect-config.conf."""
from __future__ import annotations

import importlib
from collections.abc import MutableMapping
from typing import Any, Iterator, Mapping

from collector.base import Collector


class _Registry(MutableMapping):
    """Name -> collector class, each module imported on first use: an agent configured for one
    collector does not carry the others (their XML, keystone and file-watching imports) in memory."""

    def __init__(self, paths: dict[str, str]):
        self._paths: dict[str, str | None] = dict(paths)
        self._loaded: dict[str, type[Collector]] = {}

    def __getitem__(self, name: str) -> type[Collector]:
        if name not in self._loaded:
            module, _, cls = self._paths[name].partition(":")
            self._loaded[name] = getattr(importlib.import_module(module), cls)
        return self._loaded[name]

    def __setitem__(self, name: str, cls: type[Collector]) -> None:
        self._loaded[name] = cls
        self._paths.setdefault(name, None)

    def __delitem__(self, name: str) -> None:
        del self._paths[name]
        self._loaded.pop(name, None)

    def __iter__(self) -> Iterator[str]:
        return iter(self._paths)

    def __len__(self) -> int:
        return len(self._paths)


COLLECTORS: MutableMapping[str, type[Collector]] = _Registry({
    # upstream's default order first
    "heat_local": "collector.heat_local:HeatLocalCollector",
    "ec2": "collector.ec2:Ec2Collector",
    "cfn": "collector.cfn:CfnCollector",
    "heat": "collector.heat:HeatCollector",
    "request": "collector.request:RequestCollector",
    "local": "collector.local:LocalCollector",
    "zaqar": "collector.zaqar:ZaqarCollector",
    # stoker's own
    "watch": "collector.watch:WatchCollector",
    "config_drive": "collector.config_drive:ConfigDriveCollector",
})

# os-collect-config's default `collectors`, in its order (which is the order of OS_CONFIG_FILES).
UPSTREAM_DEFAULT = ("heat_local", "ec2", "cfn", "heat", "request", "local", "zaqar")


def get(name: str) -> type[Collector]:
    return COLLECTORS[name]


def build(names: tuple[str, ...] | list[str], settings: Mapping[str, Mapping[str, Any]],
          cachedir: str | None = None) -> list[Collector]:
    """One instance per configured collector, in the configured order.

    `cachedir` reaches every collector as the setting `_cachedir` (the ec2 collector reuses its
    cached answer from there, as upstream)."""
    extra = {"_cachedir": cachedir} if cachedir else {}
    return [get(name)({**settings.get(name, {}), **extra}) for name in names]
