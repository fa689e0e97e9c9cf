"""`heat_local`: the boot-time metadata Heat hands the server in user data (cfn-init-data).

Every configured file that exists is read as JSON and the objects are merged shallowly, later files
winning (as upstream). A file that is not valid JSON is skipped with a log line naming it.
"""
from __future__ import annotations

import json
import logging
import os
from typing import Any, ClassVar, Mapping

from collector.base import Collector, Option
from collector.errors import SourceNotAvailable

log = logging.getLogger(__name__)

DEFAULT_PATH = "/var/lib/heat-cfntools/cfn-init-data"


class HeatLocalCollector(Collector):
    name: ClassVar[str] = "heat_local"
    options: ClassVar[Mapping[str, Option]] = {
        "path": Option(str, [DEFAULT_PATH], "a cfn-init-data file; repeat for several", multi=True),
    }
    explodes_deployments: ClassVar[bool] = False

    def __init__(self, settings: Mapping[str, Any]):
        paths = settings.get("path")
        self.paths: list[str] = [paths] if isinstance(paths, str) else list(paths or [])

    def collect(self) -> list[tuple[str, Any]]:
        merged: dict[str, Any] = {}
        problems = []
        for path in self.paths:
            if not os.path.exists(path):
                problems.append(f"{path} does not exist")
                continue
            try:
                with open(path, encoding="utf-8") as f:
                    value = json.load(f)
            except OSError as exc:
                problems.append(f"cannot read {path}: {exc.strerror}")
                log.info("collector heat_local: %s", problems[-1])
                continue
            except ValueError as exc:
                problems.append(f"{path} is not valid JSON: {exc}")
                log.info("collector heat_local: %s", problems[-1])
                continue
            if not isinstance(value, dict):
                problems.append(f"{path} holds a JSON {type(value).__name__}, not an object")
                log.info("collector heat_local: %s", problems[-1])
                continue
            merged.update(value)
        if not merged:
            raise SourceNotAvailable("no local metadata found: " + ("; ".join(problems) or "no path configured"))
        return [(self.name, merged)]
