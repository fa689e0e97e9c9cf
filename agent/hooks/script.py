"""The `script` hook: run the config as an executable with the inputs in its environment.

Protocol (heat-config's script hook): each input becomes an environment variable (objects and
lists as JSON), `heat_outputs_path` tells the script where to leave outputs, and output `<name>` is
read from the file `$heat_outputs_path.<name>`. Prints one JSON object; exits 0 even when the
script failed, because the failure travels in `deploy_status_code`.

Run as `python -m agent.hooks.script < item.json`.
"""
from __future__ import annotations

import errno
import json
import logging
import os
import subprocess
import sys
from typing import Any, Mapping

from agent.deployment import InvalidDeployment, deployment_id, input_values
from agent.hooks.meta import HookMeta
from stoker_common import atomic

meta = HookMeta(group="script")

log = logging.getLogger("agent.hooks.script")

WORKING_ENV = "HEAT_SCRIPT_WORKING"
OUTPUTS_ENV = "HEAT_SCRIPT_OUTPUTS"
DEFAULT_WORKING = "/var/lib/heat-config/heat-config-script"
DEFAULT_OUTPUTS = "/var/run/heat-config/heat-config-script"


def env_value(value: Any) -> str:
    """An input value as environment text.

    Objects and lists are JSON, as upstream; so are numbers and booleans (`true`, `3`), which
    upstream handed to the environment raw, making the hook crash on any non-string input.
    """
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value)


def run(item: dict, env: Mapping[str, str]) -> dict[str, Any]:
    ident = deployment_id(item)
    working = atomic.ensure_dir(env.get(WORKING_ENV) or DEFAULT_WORKING)
    outputs_dir = atomic.ensure_dir(env.get(OUTPUTS_ENV) or DEFAULT_OUTPUTS)

    script_env = dict(env)
    notes = []
    for name, value in input_values(item).items():
        text = env_value(value)
        if not name or "=" in name or "\0" in name or "\0" in text:
            notes.append(f"input {name!r} cannot be passed as an environment variable; skipped\n")
            continue
        script_env[name] = text
    outputs_path = os.path.join(outputs_dir, ident)
    script_env["heat_outputs_path"] = outputs_path

    config = item.get("config")
    script = os.path.join(working, ident)
    atomic.write_text(script, config if isinstance(config, str) else ("" if config is None else json.dumps(config)),
                      mode=0o700)

    names = [o["name"] for o in item.get("outputs") or [] if isinstance(o, dict) and isinstance(o.get("name"), str)]
    for name in names:
        # A re-run (marker removed by hand) must not report the previous run's outputs.
        _remove(f"{outputs_path}.{name}")

    log.info("running %s", script)
    try:
        proc = subprocess.run([script], cwd=working, env=script_env, stdin=subprocess.DEVNULL,
                              capture_output=True)
        stdout, stderr, code = _text(proc.stdout), _text(proc.stderr), proc.returncode
    except OSError as exc:
        hint = " (does the config start with a #! line?)" if exc.errno == errno.ENOEXEC else ""
        stdout, stderr = "", f"cannot execute {script}: {exc.strerror or exc}{hint}\n"
        code = 127 if exc.errno == errno.ENOENT else 126

    result: dict[str, Any] = {}
    for name in names:
        try:
            with open(f"{outputs_path}.{name}", "rb") as f:
                result[name] = _text(f.read())
        except FileNotFoundError:
            pass
    result.update(deploy_stdout=stdout, deploy_stderr="".join(notes) + stderr, deploy_status_code=code)
    return result


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s stoker-hook-script %(levelname)s %(message)s")
    try:
        item = json.load(sys.stdin)
        result = run(item, os.environ)
    except (ValueError, InvalidDeployment) as exc:
        log.error("invalid deployment item on stdin: %s", exc)
        return 1
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")
    return 0


def _text(data: bytes) -> str:
    return data.decode("utf-8", errors="replace")


def _remove(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


if __name__ == "__main__":
    sys.exit(main())
