"""The `salt` hook: the config (YAML text, or an object) is a state file, applied masterless with
`salt-call --local state.apply <id>`.

A minion config is written to `<working>/minion.d/minion` (file_client local, file_roots the working
directory, cache/pki/socket/log directories under it), so no master and no /etc/salt are needed.
The state is `<working>/<id>.sls`. Inputs, `heat_config_id` and `heat_outputs_path` are passed as
pillar (`{{ pillar['name'] }}`); upstream's hook set them as minion options through salt's Python
API instead, which ties the hook to salt's interpreter. Outputs come from
`$heat_outputs_path.<name>` files. Status: salt's retcode (`--retcode-passthrough`), and 2 when
any state reports `result: false`. The command is `$HEAT_SALT_CMD` (default `salt-call`).

Run as `python -m agent.hooks.salt < item.json`.
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

meta = HookMeta(group="salt", tool="salt-call", tool_env="HEAT_SALT_CMD", install_hint="pip install salt")


def run(item: dict, env: Mapping[str, str]) -> dict[str, Any]:
    import yaml  # here, not at the top: the hook registry imports this module to read `meta`

    ident = base.item_id(item)
    argv = base.command(env, meta.tool_env, meta.tool)
    if not base.find_tool(argv, env):
        return base.missing_tool(argv, meta.tool_env, meta.install_hint)
    working = base.working_dir("salt", env)
    outputs_path = os.path.join(base.outputs_dir("salt", env), ident)
    config_dir = atomic.ensure_dir(os.path.join(working, "minion.d"))
    minion = {"file_client": "local", "file_roots": {"base": [working]}, "root_dir": working,
              "cachedir": os.path.join(working, "cache"), "pki_dir": os.path.join(working, "pki"),
              "sock_dir": os.path.join(working, "sock"), "log_file": os.path.join(working, "minion.log")}
    atomic.write_text(os.path.join(config_dir, "minion"), yaml.safe_dump(minion))

    config = item.get("config")
    state = config if isinstance(config, str) else yaml.safe_dump(config or {}, default_flow_style=False)
    atomic.write_text(os.path.join(working, f"{ident}.sls"), state)
    base.clear_outputs(item, outputs_path)
    pillar = dict(input_values(item), heat_config_id=ident, heat_outputs_path=outputs_path)
    cmd = argv + ["--local", "--config-dir", config_dir, "--retcode-passthrough", "--out", "json",
                  "state.apply", ident, "pillar=" + json.dumps(pillar)]
    code, stdout, stderr = base.run_tool(cmd, env, cwd=working)
    if code == 0:
        try:
            states = json.loads(stdout).get("local") or {}
            if isinstance(states, dict) and any(isinstance(s, dict) and s.get("result") is False
                                                for s in states.values()):
                code = 2
            elif isinstance(states, list):  # salt answers a list of error strings (e.g. bad YAML)
                code = 1
        except (ValueError, AttributeError):
            pass
    return base.result(stdout, stderr, code, base.read_outputs(item, outputs_path))


if __name__ == "__main__":
    sys.exit(base.main(run, "salt"))
