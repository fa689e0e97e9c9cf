"""Hooks: how a deployment of a given group is applied.

A hook takes the deployment item as JSON on stdin and prints one JSON object (`deploy_stdout`,
`deploy_stderr`, `deploy_status_code`, one key per output). External hook executables, named after
the sanitised group, are searched in the hook directories first, so images that ship upstream's
heat-agents hooks keep them; stoker's built-in hooks below are the fallback.
"""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from typing import Sequence

from agent.deployment import hook_name

# sanitised group name -> module run as `python -m <module>`
BUILTIN_HOOKS: dict[str, str] = {
    "script": "agent.hooks.script",
}


@dataclass(frozen=True)
class Hook:
    name: str
    argv: tuple[str, ...]
    builtin: bool

    def __str__(self) -> str:
        return f"built-in hook {self.name}" if self.builtin else f"hook {self.argv[0]}"


def find(group: str, hook_dirs: Sequence[str]) -> Hook | None:
    name = hook_name(group)
    if not name:
        return None
    for directory in hook_dirs:
        path = os.path.join(directory, name)
        if os.path.isfile(path):
            return Hook(name, (path,), builtin=False)
    module = BUILTIN_HOOKS.get(name)
    if module:
        return Hook(name, (sys.executable, "-m", module), builtin=True)
    return None
