"""What every built-in hook shares: the stdin/stdout protocol, working directories, running the
tool, reading outputs, and the answer when the tool is missing.

A hook never exits non-zero for a failed deployment: the failure travels in `deploy_status_code`
(upstream's protocol). A missing tool is such a failure, reported with status 127 and a message
naming the command and how to provide it (upstream's hooks printed nothing and exited 0, which
Heat took for success).
"""
from __future__ import annotations

import json
import logging
import os
import shlex
import shutil
import subprocess
import sys
from typing import Any, Callable, Mapping, Sequence


from agent.deployment import InvalidDeployment, deployment_id
from stoker_common import atomic

MISSING_TOOL_STATUS = 127
ROOT_ENV = "STOKER_AGENT_ROOT"

Hook = Callable[[dict, Mapping[str, str]], dict]


def main(run: Hook, name: str) -> int:
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format=f"%(asctime)s stoker-hook-{name} %(levelname)s %(message)s")
    try:
        item = json.load(sys.stdin)
        deployment_id(item)
        result = run(item, os.environ)
    except (ValueError, InvalidDeployment) as exc:
        logging.getLogger(name).error("invalid deployment item on stdin: %s", exc)
        return 1
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")
    return 0


def under_root(env: Mapping[str, str], path: str) -> str:
    """An upstream default path, taken under the agent's --root (the runner passes it on)."""
    root = env.get(ROOT_ENV) or "/"
    return os.path.join(root, path.lstrip("/"))


def working_dir(tool: str, env: Mapping[str, str]) -> str:
    variable = f"HEAT_{tool.upper().replace('-', '_')}_WORKING"
    return atomic.ensure_dir(env.get(variable) or under_root(env, f"var/lib/heat-config/heat-config-{tool}"))


def outputs_dir(tool: str, env: Mapping[str, str]) -> str:
    variable = f"HEAT_{tool.upper().replace('-', '_')}_OUTPUTS"
    return atomic.ensure_dir(env.get(variable) or under_root(env, f"var/run/heat-config/heat-config-{tool}"))


def command(env: Mapping[str, str], variable: str, default: str) -> list[str]:
    """The tool's command line: the environment override (may carry arguments) or the default."""
    return shlex.split(env.get(variable) or default)


def find_tool(argv: Sequence[str], env: Mapping[str, str]) -> str | None:
    return shutil.which(argv[0], path=env.get("PATH"))


def missing_tool(argv: Sequence[str], variable: str, hint: str) -> dict[str, Any]:
    return result("", f"stoker: {argv[0]} not found on PATH: {hint} (or point {variable} at it)\n",
                  MISSING_TOOL_STATUS)


def run_tool(argv: Sequence[str], env: Mapping[str, str], cwd: str | None = None,
             stdin: bytes | None = None) -> tuple[int, str, str]:
    try:
        proc = subprocess.run(list(argv), env=dict(env), cwd=cwd, capture_output=True,
                              input=stdin, stdin=None if stdin is not None else subprocess.DEVNULL)
    except OSError as exc:
        return (127 if isinstance(exc, FileNotFoundError) else 126), "", f"cannot run {argv[0]}: {exc.strerror or exc}\n"
    return proc.returncode, _text(proc.stdout), _text(proc.stderr)


def output_names(item: dict) -> list[str]:
    return [o["name"] for o in item.get("outputs") or [] if isinstance(o, dict) and isinstance(o.get("name"), str)]


def clear_outputs(item: dict, outputs_path: str) -> None:
    """A re-run must not report the previous run's outputs."""
    for name in output_names(item):
        try:
            os.unlink(f"{outputs_path}.{name}")
        except FileNotFoundError:
            pass


def read_outputs(item: dict, outputs_path: str) -> dict[str, str]:
    values = {}
    for name in output_names(item):
        try:
            with open(f"{outputs_path}.{name}", "rb") as f:
                values[name] = _text(f.read())
        except FileNotFoundError:
            pass
    return values


def result(stdout: str, stderr: str, code: int, outputs: Mapping[str, Any] | None = None) -> dict[str, Any]:
    answer = dict(outputs or {})
    answer.update(deploy_stdout=stdout, deploy_stderr=stderr, deploy_status_code=code)
    return answer


def config_object(item: dict, what: str, empty: Any = None) -> tuple[Any, dict[str, Any] | None]:
    """The item's config as an object (a map as given, or YAML/JSON text), and None; or None and
    the failure result that says why it is not one. `empty` stands in for blank text."""
    import yaml  # here, not at the top: the hook registry imports this module to read `meta`

    config = item.get("config")
    if isinstance(config, str):
        try:
            config = yaml.safe_load(config)
        except yaml.YAMLError as exc:
            return None, result("", f"config is not YAML/JSON: {' '.join(str(exc).split())}\n", 1)
        if config is None:
            config = empty
    if not isinstance(config, dict):
        return None, result("", f"config must be {what}\n", 1)
    return config, None


def item_id(item: dict) -> str:
    return deployment_id(item)


def _text(data: bytes) -> str:
    return data.decode("utf-8", errors="replace")
