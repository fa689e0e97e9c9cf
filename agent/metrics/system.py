"""The built-in metrics, read with psutil: the names Aodh templates use for ceilometer's meters.

`cpu_util` is the share of time all CPUs were busy since the previous sample (psutil compares
with the times it read last), so taking a sample never sleeps. psutil is imported here, when
metrics are on, and never by an idle agent that has them off.
"""
from __future__ import annotations

import logging
import os
from typing import Callable

log = logging.getLogger(__name__)

NAMES = ("cpu_util", "memory_util", "memory.usage", "load1", "load5", "load15", "disk_util")
MIB = 2 ** 20


class SystemMetrics:
    def __init__(self, disk_path: str = "/"):
        import psutil  # noqa: PLC0415 (only an agent with metrics on pays for it)

        self._psutil = psutil
        self.disk_path = disk_path
        self._failing: set[str] = set()
        psutil.cpu_percent(interval=None)  # the reference the first sample's cpu_util is measured from

    def sample(self) -> dict[str, float]:
        metrics: dict[str, float] = {}
        for group, read in self._readers():
            try:
                metrics.update(read())
            except Exception as exc:  # one unreadable source must not cost the others
                if group not in self._failing:
                    self._failing.add(group)
                    log.warning("metrics: cannot read %s: %s", group, exc)
                continue
            self._failing.discard(group)
        return metrics

    def _readers(self) -> list[tuple[str, Callable[[], dict[str, float]]]]:
        return [("cpu", self._cpu), ("memory", self._memory), ("load", self._load), ("disk", self._disk)]

    def _cpu(self) -> dict[str, float]:
        return {"cpu_util": float(self._psutil.cpu_percent(interval=None))}

    def _memory(self) -> dict[str, float]:
        memory = self._psutil.virtual_memory()
        used = memory.total - memory.available  # what ceilometer's memory.usage counts
        return {"memory_util": round(100.0 * used / memory.total, 2), "memory.usage": round(used / MIB, 1)}

    def _load(self) -> dict[str, float]:
        one, five, fifteen = os.getloadavg()
        return {"load1": round(one, 2), "load5": round(five, 2), "load15": round(fifteen, 2)}

    def _disk(self) -> dict[str, float]:
        return {"disk_util": float(self._psutil.disk_usage(self.disk_path).percent)}
