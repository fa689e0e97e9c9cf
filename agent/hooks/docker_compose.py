"""The `docker-compose` hook: the config (object or YAML text) is a compose file, brought up with
`docker-compose up -d --no-build` in `<working>/<deployment name>/`.

Input `env_files` (a JSON list, or upstream's Python-literal list, of `{file_name, content}`)
writes env files next to the compose file. DELETE takes the project down (`docker-compose down`)
and removes the compose file; upstream left that to a companion script. The command is
`$HEAT_DOCKER_COMPOSE_CMD` (default `docker-compose`; `docker compose` works too).

Run as `python -m agent.hooks.docker_compose < item.json`.
"""
from __future__ import annotations

import ast
import json
import os
import re
import sys
from typing import Any, Mapping


from agent.deployment import input_values
from agent.hooks import base
from agent.hooks.meta import HookMeta
from stoker_common import atomic

meta = HookMeta(group="docker-compose", tool="docker-compose", tool_env="HEAT_DOCKER_COMPOSE_CMD",
                install_hint="install docker compose")
COMPOSE_FILE = "docker-compose.yml"


def _env_files(value: Any) -> list[dict]:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            value = ast.literal_eval(value)  # upstream's format; literals only, never code
    if not isinstance(value, list) or not all(isinstance(v, dict) and "file_name" in v for v in value):
        raise ValueError("env_files must be a list of {file_name, content}")
    return value


def run(item: dict, env: Mapping[str, str]) -> dict[str, Any]:
    import yaml  # here, not at the top: the hook registry imports this module to read `meta`

    argv = base.command(env, meta.tool_env, meta.tool)
    if not base.find_tool(argv, env):
        return base.missing_tool(argv, meta.tool_env, meta.install_hint)
    values = input_values(item)
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", str(item.get("name") or base.item_id(item)))
    project = atomic.ensure_dir(os.path.join(base.working_dir("docker-compose", env), name))
    compose = os.path.join(project, COMPOSE_FILE)

    if values.get("deploy_action") == "DELETE":
        if not os.path.exists(compose):
            return base.result(f"project {name} has no compose file; nothing to take down\n", "", 0)
        code, stdout, stderr = base.run_tool(argv + ["down"], env, cwd=project)
        if code == 0:
            os.unlink(compose)
        return base.result(stdout, stderr, code)

    config, failed = base.config_object(item, "a compose document (an object)")
    if failed:
        return failed
    atomic.write_text(compose, yaml.safe_dump(config, default_flow_style=False), mode=0o600)
    try:
        for entry in _env_files(values.get("env_files") or []):
            file_name = os.path.basename(str(entry["file_name"]))
            atomic.write_text(os.path.join(project, file_name), str(entry.get("content") or ""))
    except (ValueError, SyntaxError) as exc:
        return base.result("", f"input env_files: {exc}\n", 1)
    code, stdout, stderr = base.run_tool(argv + ["up", "-d", "--no-build"], env, cwd=project)
    return base.result(stdout, stderr, code)


if __name__ == "__main__":
    sys.exit(base.main(run, "docker-compose"))
