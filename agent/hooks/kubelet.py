"""The `kubelet` hook: the config is a pod manifest; it is written to
`<working>/kubelet-manifests/<id>.json` for a kubelet watching that directory, then the hook waits
until every container of the pod is up according to docker (`$HEAT_DOCKER_CMD`, default `docker`),
polling every `$HEAT_KUBELET_POLL` seconds (default 5) up to `$HEAT_KUBELET_TIMEOUT` (default 120).
A DELETE removes the manifest. Kubelet names containers `k8s_<container>_<pod>_...`.

Run as `python -m agent.hooks.kubelet < item.json`.
"""
from __future__ import annotations

import json
import os
import sys
import time
from typing import Any, Mapping


from agent.deployment import input_values
from agent.hooks import base
from agent.hooks.meta import HookMeta
from stoker_common import atomic

meta = HookMeta(group="kubelet", tool="docker", tool_env="HEAT_DOCKER_CMD", install_hint="install docker")


def run(item: dict, env: Mapping[str, str]) -> dict[str, Any]:
    ident = base.item_id(item)
    manifests = atomic.ensure_dir(os.path.join(base.working_dir("kubelet", env), "kubelet-manifests"))
    manifest_path = os.path.join(manifests, f"{ident}.json")
    if input_values(item).get("deploy_action") == "DELETE":
        try:
            os.unlink(manifest_path)
        except FileNotFoundError:
            pass
        return base.result(f"removed {manifest_path}\n", "", 0)
    argv = base.command(env, meta.tool_env, meta.tool)
    if not base.find_tool(argv, env):
        return base.missing_tool(argv, meta.tool_env, meta.install_hint)
    config, failed = base.config_object(item, "a pod manifest (an object)")
    if failed:
        return failed
    pod = str((config.get("metadata") or {}).get("name") or item.get("name") or ident)
    containers = [str(c.get("name")) for c in (config.get("spec") or {}).get("containers") or []
                  if isinstance(c, dict) and c.get("name")]
    atomic.write_text(manifest_path, json.dumps(config, indent=2), mode=0o644)

    timeout = float(env.get("HEAT_KUBELET_TIMEOUT") or 120)
    poll = float(env.get("HEAT_KUBELET_POLL") or 5)
    deadline = time.monotonic() + timeout
    waiting = list(containers)
    log = []
    while True:
        for container in list(waiting):
            code, stdout, stderr = base.run_tool(argv + [
                "ps", "--filter", f"name=k8s_{container}_{pod}_", "--format", "{{.Names}} {{.Status}}"], env)
            if code != 0:
                return base.result("".join(log), stderr, code)
            if any(line.split(" ", 1)[-1].startswith("Up") for line in stdout.splitlines() if line.strip()):
                waiting.remove(container)
                log.append(f"container {container} of pod {pod} is up\n")
        if not waiting:
            return base.result("".join(log), "", 0)
        if time.monotonic() >= deadline:
            return base.result("".join(log), f"containers not up after {timeout:g}s: {', '.join(waiting)}\n", 1)
        time.sleep(poll)


if __name__ == "__main__":
    sys.exit(base.main(run, "kubelet"))
