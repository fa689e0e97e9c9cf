"""The `ansible` hook: the config is a playbook, run with ansible-playbook against the inventory
`localhost,` (or the `inventory` option, relative to the working directory).

Files: `<working>/<id>_playbook.yaml`, `<working>/<id>_variables.json` (every input, plus
`heat_config_id` and `heat_outputs_path`, passed with `--extra-vars @file`). Options: `tags` ->
`--tags`, `skip_tags` -> `--skip-tags` (ignored when empty), `modulepath` -> `--module-path`,
`callback_plugins` -> `ANSIBLE_CALLBACK_PLUGINS`. Outputs are read from
`$heat_outputs_path.<name>` files, as the script hook's. The command is `$HEAT_ANSIBLE_CMD`
(default `ansible-playbook`); inventory `$HEAT_ANSIBLE_INVENTORY` when the option is not given.

Run as `python -m agent.hooks.ansible < item.json`.
"""
from __future__ import annotations

import json
import os
import sys
from typing import Any, Mapping

from agent.deployment import input_values
from agent.hooks import base
from agent.hooks.meta import HookMeta
from stoker_common import atomic

meta = HookMeta(group="ansible", tool="ansible-playbook", tool_env="HEAT_ANSIBLE_CMD",
                install_hint="pip install ansible-core")


def run(item: dict, env: Mapping[str, str]) -> dict[str, Any]:
    ident = base.item_id(item)
    config = item.get("config")
    if not config:
        return base.result("empty playbook: nothing to run\n", "", 0)
    argv = base.command(env, meta.tool_env, meta.tool)
    if not base.find_tool(argv, env):
        return base.missing_tool(argv, meta.tool_env, meta.install_hint)
    working = base.working_dir("ansible", env)
    outputs_path = os.path.join(base.outputs_dir("ansible", env), ident)
    options = item.get("options") if isinstance(item.get("options"), dict) else {}

    variables = dict(input_values(item), heat_config_id=ident, heat_outputs_path=outputs_path)
    vars_file = os.path.join(working, f"{ident}_variables.json")
    atomic.write_json(vars_file, variables, indent=1)
    playbook = os.path.join(working, f"{ident}_playbook.yaml")
    atomic.write_text(playbook, config if isinstance(config, str) else json.dumps(config))
    base.clear_outputs(item, outputs_path)

    inventory = options.get("inventory")
    inventory = os.path.join(working, inventory) if inventory else (env.get("HEAT_ANSIBLE_INVENTORY") or "localhost,")
    cmd = argv + ["-i", inventory, playbook, "--extra-vars", f"@{vars_file}"]
    if options.get("tags"):
        cmd += ["--tags", str(options["tags"])]
    if options.get("skip_tags"):
        cmd += ["--skip-tags", str(options["skip_tags"])]
    if options.get("modulepath"):
        cmd += ["--module-path", str(options["modulepath"])]
    tool_env = dict(env)
    if options.get("callback_plugins"):
        tool_env["ANSIBLE_CALLBACK_PLUGINS"] = str(options["callback_plugins"])
    code, stdout, stderr = base.run_tool(cmd, tool_env, cwd=working)
    return base.result(stdout, stderr, code, base.read_outputs(item, outputs_path))


if __name__ == "__main__":
    sys.exit(base.main(run, "ansible"))
