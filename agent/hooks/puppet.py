"""The `puppet` hook: the config is a manifest, applied with `puppet apply --detailed-exitcodes`.

Inputs reach the manifest as facts (`FACTER_<name>`, plus `FACTER_heat_outputs_path`,
`FACTER_fqdn`, `FACTER_deploy_config_name`) unless option `enable_facter` is false; with
`enable_hiera` they are also written to `<hieradata>/heat_config_<name>.json`. Options
`modulepath`, `tags`, `enable_debug`, `enable_verbose` map to puppet's flags (debug and verbose
logs go to `$HEAT_PUPPET_LOGDIR`). Exit codes 0 and 2 (changes applied) are success.
The command is `$HEAT_PUPPET_CMD` (default `puppet`).

Run as `python -m agent.hooks.puppet < item.json`.
"""
from __future__ import annotations

import json
import os
import socket
import sys
from typing import Any, Mapping

from agent.deployment import input_values
from agent.hooks import base
from agent.hooks.meta import HookMeta
from stoker_common import atomic

meta = HookMeta(group="puppet", tool="puppet", tool_env="HEAT_PUPPET_CMD",
                install_hint="install puppet (e.g. the puppet-agent package)")


def _flag(options: dict, name: str, default: bool) -> bool:
    value = options.get(name, default)
    return value.lower() in ("true", "1", "yes") if isinstance(value, str) else bool(value)


def run(item: dict, env: Mapping[str, str]) -> dict[str, Any]:
    ident = base.item_id(item)
    argv = base.command(env, meta.tool_env, meta.tool)
    if not base.find_tool(argv, env):
        return base.missing_tool(argv, meta.tool_env, meta.install_hint)
    working = base.working_dir("puppet", env)
    outputs_path = os.path.join(base.outputs_dir("puppet", env), ident)
    logdir = atomic.ensure_dir(env.get("HEAT_PUPPET_LOGDIR") or base.under_root(env, "var/log/puppet"))
    options = item.get("options") if isinstance(item.get("options"), dict) else {}
    values = input_values(item)
    name = str(item.get("name") or ident)

    tool_env = dict(env)
    if _flag(options, "enable_facter", True):
        for key, value in values.items():
            tool_env[f"FACTER_{key}"] = value if isinstance(value, str) else json.dumps(value)
        tool_env["FACTER_heat_outputs_path"] = outputs_path
        tool_env["FACTER_fqdn"] = socket.getfqdn()
    if _flag(options, "enable_hiera", False):
        hieradata = atomic.ensure_dir(env.get("HEAT_PUPPET_HIERA_DATADIR") or
                                      base.under_root(env, "/etc/puppet/hieradata"), mode=0o755)
        atomic.write_json(os.path.join(hieradata, f"heat_config_{name}.json"), values, indent=4, mode=0o600)
        tool_env["FACTER_deploy_config_name"] = name

    manifest = os.path.join(working, f"{ident}.pp")
    config = item.get("config")
    atomic.write_text(manifest, config if isinstance(config, str) else "")
    base.clear_outputs(item, outputs_path)
    cmd = argv + ["apply", "--detailed-exitcodes", "--logdest", "console"]
    if options.get("modulepath"):
        cmd += ["--modulepath", str(options["modulepath"])]
    if options.get("tags"):
        cmd += ["--tags", str(options["tags"])]
    if _flag(options, "enable_debug", False):
        cmd += ["--debug", "--logdest", os.path.join(logdir, "heat-debug.log")]
    if _flag(options, "enable_verbose", False):
        cmd += ["--verbose", "--logdest", os.path.join(logdir, "heat-verbose.log")]
    cmd.append(manifest)
    code, stdout, stderr = base.run_tool(cmd, tool_env, cwd=working)
    if code == 2:  # --detailed-exitcodes: 2 = changes were applied, no failures
        code = 0
    return base.result(stdout, stderr, code, base.read_outputs(item, outputs_path))


if __name__ == "__main__":
    sys.exit(base.main(run, "puppet"))
