"""What a built-in hook declares about itself, once, in its own module (as `meta`).

The hook registry (agent/hooks/__init__.py) finds a hook by `group`; the hook uses `tool`,
`tool_env` and `install_hint` to run its tool or to say how to provide it; `stoker agent doctor`
reads the same record to say which hooks are usable.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping


@dataclass(frozen=True)
class HookMeta:
    group: str  # the sanitised group name the hook serves
    tool: str | None = None  # the command looked up on PATH, if the hook drives one
    tool_env: str | None = None  # environment variable that overrides the tool's command
    install_hint: str | None = None  # how to provide the tool, said when it is missing

    def tool_command(self, env: Mapping[str, str]) -> str | None:
        if self.tool is None:
            return None
        return (env.get(self.tool_env) if self.tool_env else None) or self.tool
