"""Every collector the agent knows, by the name used in `collectors =` of os-collect-config.conf."""
from __future__ import annotations

from typing import Any, Mapping

from collector.base import Collector
from collector.cfn import CfnCollector
from collector.config_drive import ConfigDriveCollector
from collector.ec2 import Ec2Collector
from collector.heat import HeatCollector
from collector.heat_local import HeatLocalCollector
from collector.local import LocalCollector
from collector.request import RequestCollector
from collector.watch import WatchCollector
from collector.zaqar import ZaqarCollector

COLLECTORS: dict[str, type[Collector]] = {cls.name: cls for cls in (
    # upstream's default order first
    HeatLocalCollector, Ec2Collector, CfnCollector, HeatCollector, RequestCollector, LocalCollector,
    ZaqarCollector,
    # stoker's own
    WatchCollector, ConfigDriveCollector,
)}

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
