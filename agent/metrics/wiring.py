"""The metrics thread as the daemon starts it, from the `[agent]` settings and the collectors'."""
from __future__ import annotations

import logging
import os
from typing import Any, Mapping, Optional

from agent.metrics import scripts, sender
from agent.metrics.reporter import Reporter
from agent.metrics.system import NAMES, SystemMetrics

log = logging.getLogger(__name__)


def build(interval: float, batch: float, directory: str, root: str, collectors: tuple[str, ...] | list[str],
          settings: Mapping[str, Mapping[str, Any]]) -> Optional[Reporter]:
    """The reporter, not started; None (logged) when no collector gives a stoker URL to send to."""
    target = sender.target_from(collectors, settings)
    if target is None:
        log.warning("metrics are on, but no collector polls stoker's signed metadata URL (request) or "
                    "its token URL (watch), nor has keystone credentials (heat: auth_url, user_id, password, "
                    "project_id): there is nowhere to send them; metrics off")
        return None
    system = SystemMetrics(disk_path=root)
    named = scripts.ScriptMetrics(directory, timeout=min(scripts.TIMEOUT, interval), reserved=NAMES)

    def sample() -> dict[str, float]:
        metrics = system.sample()
        metrics.update(named.sample(room=scripts.MAX_METRICS - len(metrics)))
        return metrics

    log.info("metrics: a sample every %gs, sent every %gs to %s; scripts in %s", interval, batch,
             target.shown, directory if os.path.isdir(directory) else f"{directory} (none yet)")
    return Reporter(sample, sender.Sender(target), interval, batch)
