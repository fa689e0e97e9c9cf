"""Hooks: how a deployment of a given group is applied.

A hook takes the deployment item as JSON on stdin and prints one JSON object (`deploy_stdout`,
`deploy_stderr`, `deploy_status_code`, one key per output). External hook executables, named after
the sanitised group, are searched in the hook directories first, so images that ship upstream's
heat-agents hooks keep them; stoker's built-in hooks below are the fallback. Each built-in hook is
a module run as `python -m agent.hooks.<module>`; the tool it drives (if any) is named here so
that `stoker agent doctor` can say which are usable.
"""
from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass
from typing import Mapping, Sequence

from agent.deployment import hook_name


@dataclass(frozen=True)
class BuiltinHook:
    module: str
    tool_env: str | None = None  # environment variable that overrides the tool's command
    tool: str | None = None  # the command looked up on PATH

    def tool_command(self, env: Mapping[str, str]) -> str | None:
        if self.tool is None:
            return None
        return (env.get(self.tool_env) if self.tool_env else None) or self.tool


# sanitised group name -> built-in hook
BUILTIN_HOOKS: dict[str, BuiltinHook] = {
    "script": BuiltinHook("agent.hooks.script"),
    "json-file": BuiltinHook("agent.hooks.json_file"),
    "hiera": BuiltinHook("agent.hooks.hiera"),
    "apply-config": BuiltinHook("agent.hooks.apply_config", "HEAT_APPLY_CONFIG_CMD", "os-apply-config"),
    "ansible": BuiltinHook("agent.hooks.ansible", "HEAT_ANSIBLE_CMD", "ansible-playbook"),
    "puppet": BuiltinHook("agent.hooks.puppet", "HEAT_PUPPET_CMD", "puppet"),
    "salt": BuiltinHook("agent.hooks.salt", "HEAT_SALT_CMD", "salt-call"),
    "docker-compose": BuiltinHook("agent.hooks.docker_compose", "HEAT_DOCKER_COMPOSE_CMD", "docker-compose"),
    "kubelet": BuiltinHook("agent.hooks.kubelet", "HEAT_DOCKER_CMD", "docker"),
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
    builtin = BUILTIN_HOOKS.get(name)
    if builtin:
        return Hook(name, (sys.executable, "-m", builtin.module), builtin=True)
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
