"""The `cfn-init` hook: the config is `AWS::CloudFormation::Init` metadata, applied by cfn-init
(heat-cfntools).

The config (an object, or JSON/YAML text) is written as `{"AWS::CloudFormation::Init": config}` to
`$HEAT_CFN_INIT_LAST_METADATA_DIR/last_metadata` (default /var/cache/heat-cfntools, 0600), the
file cfn-init falls back to when it is given no stack to ask, and `$HEAT_CFN_INIT_CMD` (default
`cfn-init`) runs with no arguments, as upstream's heat-config-cfn-init hook does. cfn-init logs
only to /var/log/cfn-init.log, so when it fails the lines it logged during this run are added to
`deploy_stderr`: the reason a command or config failed is in the signal, not only on the server.

Run as `python -m agent.hooks.cfn_init < item.json`.
"""
from __future__ import annotations

import json
import os
import sys
from typing import Any, Mapping

from agent.hooks import base
from agent.hooks.meta import HookMeta
from stoker_common import atomic

meta = HookMeta(group="cfn-init", tool="cfn-init", tool_env="HEAT_CFN_INIT_CMD",
                install_hint="install heat-cfntools (`pip install heat-cfntools`, or the "
                             "distribution's heat-cfntools package)")

INIT_KEY = "AWS::CloudFormation::Init"
LOG_TAIL_LIMIT = 16 * 1024  # of cfn-init's log, added to a failure's stderr


def run(item: dict, env: Mapping[str, str]) -> dict[str, Any]:
    config, failed = base.config_object(
        item, f"{INIT_KEY} metadata: an object with `config` or `configSets`")
    if failed:
        return failed
    if not config:
        return base.result("", f"config is empty: cfn-init needs {INIT_KEY} metadata with a "
                               "`config` key or `configSets`\n", 1)
    argv = base.command(env, meta.tool_env, meta.tool)
    if not base.find_tool(argv, env):
        return base.missing_tool(argv, meta.tool_env, meta.install_hint)
    directory = atomic.ensure_dir(env.get("HEAT_CFN_INIT_LAST_METADATA_DIR") or
                                  base.under_root(env, "var/cache/heat-cfntools"))
    # the metadata may hold secrets (file contents, passwords): owner-only, as cfn-init keeps it
    atomic.write_text(os.path.join(directory, "last_metadata"), json.dumps({INIT_KEY: config}),
                      mode=0o600)
    log = base.under_root(env, "var/log/cfn-init.log")
    start = _size(log)
    code, stdout, stderr = base.run_tool(argv, env)
    if code != 0:
        logged = _logged_since(log, start)
        stderr += (f"stoker: {argv[0]} exited {code}"
                   + (f"; what it logged to {log}:\n{logged}" if logged
                      else f"; see {log}\n"))
    return base.result(stdout, stderr, code)


def _size(path: str) -> int:
    try:
        return os.stat(path).st_size
    except OSError:
        return 0


def _logged_since(path: str, start: int) -> str:
    """What cfn-init appended to its log since `start` (its last LOG_TAIL_LIMIT bytes)."""
    try:
        with open(path, "rb") as f:
            end = f.seek(0, os.SEEK_END)
            if end < start:  # rotated or truncated meanwhile: all of it is this run's
                start = 0
            f.seek(max(start, end - LOG_TAIL_LIMIT))
            data = f.read(LOG_TAIL_LIMIT)
    except OSError:
        return ""
    text = data.decode("utf-8", errors="replace")
    return text if not text or text.endswith("\n") else text + "\n"


if __name__ == "__main__":
    sys.exit(base.main(run, "cfn-init"))
