"""The `apply-config` hook: run os-apply-config (`$HEAT_APPLY_CONFIG_CMD`, default `os-apply-config`)
over all the collected metadata and report its output and status, so a deployment of group
`apply-config` gets a signal (one of group `os-apply-config` is applied without one, as upstream).

Run as `python -m agent.hooks.apply_config < item.json`.
"""
from __future__ import annotations

import sys
from typing import Any, Mapping

from agent.hooks import base
from agent.hooks.meta import HookMeta

meta = HookMeta(group="apply-config", tool="os-apply-config", tool_env="HEAT_APPLY_CONFIG_CMD",
                install_hint="install stoker's applier or os-apply-config")


def run(item: dict, env: Mapping[str, str]) -> dict[str, Any]:
    argv = base.command(env, meta.tool_env, meta.tool)
    if not base.find_tool(argv, env):
        return base.missing_tool(argv, meta.tool_env, meta.install_hint)
    code, stdout, stderr = base.run_tool(argv, env)
    return base.result(stdout, stderr, code)


if __name__ == "__main__":
    sys.exit(base.main(run, "apply-config"))
