"""Hooks: how a deployment of a given group is applied.

A hook takes the deployment item as JSON on stdin and prints one JSON object (`deploy_stdout`,
`deploy_stderr`, `deploy_status_code`, one key per output). External hook executables, named after
the sanitised group, are searched in the hook directories first, so images that ship upstream's
heat-agents hooks keep them; stoker's built-in hooks below are the fallback. Each built-in hook is
a module run as `python -m agent.hooks.<module>` that declares its group and the tool it drives
(if any) in its `meta`, which `stoker agent doctor` reads to say which are usable.
"""
from __future__ import annotations

import importlib
import os
import shutil
import sys
from dataclasses import dataclass
from typing import Mapping, Sequence

from agent.deployment import hook_name
from agent.hooks.meta import HookMeta


# The built-in hook modules (agent/hooks/<module>.py). Each declares its group, tool, tool variable
# and install hint once, as `meta` (hooks/meta.py); they are imported on first use, never by an idle
# agent that has nothing to deploy.
BUILTIN_MODULES = ("script", "json_file", "hiera", "apply_config", "ansible", "puppet", "salt",
                   "docker_compose", "kubelet", "cfn_init")


@dataclass(frozen=True)
class BuiltinHook:
    module: str
    meta: HookMeta

    @property
    def tool(self) -> str | None:
        return self.meta.tool

    def tool_command(self, env: Mapping[str, str]) -> str | None:
        return self.meta.tool_command(env)


_builtin: dict[str, BuiltinHook] = {}


def builtin() -> dict[str, BuiltinHook]:
    """Sanitised group name -> built-in hook, read from each hook module's `meta`."""
    if not _builtin:
        for name in BUILTIN_MODULES:
            module = f"agent.hooks.{name}"
            meta = importlib.import_module(module).meta
            _builtin[meta.group] = BuiltinHook(module, meta)
    return _builtin


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
    hook = builtin().get(name)
    if hook:
        return Hook(name, (sys.executable, "-m", hook.module), builtin=True)
    return None


def external(hook_dirs: Sequence[str]) -> dict[str, str]:
    """{hook name: path} of the hook executables installed in the hook directories (first wins)."""
    found: dict[str, str] = {}
    for directory in hook_dirs:
        try:
            names = sorted(os.listdir(directory))
        except OSError:
            continue
        for name in names:
            path = os.path.join(directory, name)
            if os.path.isfile(path) and name not in found:
                found[name] = path
    return found


def tool_path(hook: BuiltinHook, env: Mapping[str, str]) -> str | None:
    command = hook.tool_command(env)
    if command is None:
        return None
    first = command.split()[0]
    return shutil.which(first, path=env.get("PATH"))
