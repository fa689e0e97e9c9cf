"""The deployment runner: heat-config's 55-heat-config, item by item.

For each deployment in order: coerce String inputs, resolve `component` to the entry for the
current action, skip it if its deployed marker exists, find its hook, write the marker, run the
hook with the item on stdin, turn the hook's answer into signal data, keep it in
`<id>.notify.json` and hand it to the outbox. A failing item never stops the ones after it.
"""
from __future__ import annotations

import copy
import json
import logging
import os
import subprocess
from dataclasses import dataclass
from typing import Any, Mapping

import agent
from agent import atomic, hooks
from agent.deployment import (COMPONENT_GROUP, coerce_string_inputs, deployment_id, describe, input_values,
                              select_component)
from agent.hooks.script import OUTPUTS_ENV, WORKING_ENV
from agent.outbox import Outbox
from agent.paths import Paths

log = logging.getLogger(__name__)

# Outcomes of one item
DEPLOYED = "deployed"
ALREADY_DEPLOYED = "already-deployed"
NO_HOOK = "no-hook"
NO_ACTION = "no-component-action"
FAILED = "failed"  # the runner itself could not handle the item (bad item, unwritable marker...)

# Groups that are applied by os-apply-config rather than a hook, so having no hook is expected.
HOOKLESS_GROUPS = ("os-apply-config",)
_SOURCE_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(agent.__file__)))


@dataclass
class ItemReport:
    id: str | None
    name: str | None
    outcome: str
    status_code: Any = None
    signal: str | None = None


def signal_data(returncode: int, stdout: str, stderr: str) -> dict[str, Any]:
    """What to signal for a hook's run (55-heat-config's rule).

    A JSON object on stdout is the answer, even when the hook exited non-zero; otherwise a failed
    run is reported with its output and return code, and a silent successful run as `{}`.
    """
    fallback = {"deploy_stdout": stdout, "deploy_stderr": stderr, "deploy_status_code": returncode}
    if stdout:
        try:
            parsed = json.loads(stdout)
        except ValueError:
            return fallback
        return parsed if isinstance(parsed, dict) else fallback
    return fallback if returncode != 0 else {}


class DeploymentRunner:
    def __init__(self, paths: Paths, outbox: Outbox, env: Mapping[str, str] | None = None):
        self.paths = paths
        self.outbox = outbox
        self.env = dict(os.environ if env is None else env)

    def run(self, deployments: list) -> list[ItemReport]:
        """Apply every deployment not yet deployed. Raises only if the run could not start."""
        # What os-apply-config renders from `{{deployments}}`; 0600 because inputs carry secrets.
        atomic.ensure_dir(os.path.dirname(self.paths.heat_config))
        atomic.write_json(self.paths.heat_config, deployments, indent=None, mode=0o600)
        atomic.ensure_dir(self.paths.deployed_dir)
        reports = []
        for item in deployments:
            try:
                reports.append(self._deploy(item))
            except Exception as exc:  # one item's problem must not stop the others
                log.error("%s: not deployed: %s", describe(item), exc)
                log.debug("details", exc_info=True)
                reports.append(ItemReport(_get(item, "id"), _get(item, "name"), FAILED))
        return reports

    def _deploy(self, item: Any) -> ItemReport:
        ident = deployment_id(item)
        item = copy.deepcopy(item)  # the caller's list is what was collected; leave it intact
        report = ItemReport(ident, item.get("name"), DEPLOYED)
        coerce_string_inputs(item)
        if item.get("group") == COMPONENT_GROUP and not select_component(item):
            log.warning("%s: component has no config for action %s; nothing to do", describe(item),
                        input_values(item).get("deploy_action"))
            report.outcome = NO_ACTION
            return report

        marker = os.path.join(self.paths.deployed_dir, ident + ".json")
        if os.path.exists(marker):
            log.debug("%s: already deployed (remove %s to deploy it again)", describe(item), marker)
            report.outcome = ALREADY_DEPLOYED
            return report

        group = item.get("group") or "Heat::Ungrouped"
        hook = hooks.find(group, self.paths.hook_dirs)
        if hook is None:
            if group not in HOOKLESS_GROUPS:
                log.error("%s: no hook for group %r (looked in %s and the built-in hooks); skipped",
                          describe(item), group, ", ".join(self.paths.hook_dirs))
            report.outcome = NO_HOOK
            return report

        # Written before the hook runs, as upstream: a deployment is attempted once per id.
        atomic.write_json(marker, item, indent=2, mode=0o600)
        log.info("%s: running %s", describe(item), hook)
        payload = self._run_hook(hook, item)
        report.status_code = payload.get("deploy_status_code", 0)
        atomic.write_json(os.path.join(self.paths.deployed_dir, ident + ".notify.json"), payload,
                          indent=2, mode=0o600)
        log.info("%s: hook finished with deploy_status_code %s", describe(item), report.status_code)
        report.signal = self.outbox.deliver(item, payload)
        return report

    def _run_hook(self, hook: hooks.Hook, item: dict) -> dict[str, Any]:
        env = dict(self.env)
        # Keep the script hook's files under the agent's root (upstream's hook honours these too).
        env[WORKING_ENV] = self.paths.script_working_dir
        env[OUTPUTS_ENV] = self.paths.script_outputs_dir
        # `python -m` puts the working directory first on sys.path, so a built-in hook started there
        # imports this very agent, installed or run from a checkout, without a PYTHONPATH that would
        # leak into the user's scripts. (The script hook runs scripts in its own working directory.)
        cwd = _SOURCE_ROOT if hook.builtin else None
        try:
            proc = subprocess.run(hook.argv, input=json.dumps(item).encode("utf-8"), capture_output=True, env=env,
                                  cwd=cwd)
        except OSError as exc:
            # The marker is already written, so report the failure rather than leave Heat waiting.
            return {"deploy_stdout": "", "deploy_stderr": f"cannot run {hook}: {exc.strerror or exc}\n",
                    "deploy_status_code": 127 if isinstance(exc, FileNotFoundError) else 126}
        stdout = proc.stdout.decode("utf-8", errors="replace")
        stderr = proc.stderr.decode("utf-8", errors="replace")
        if stdout:
            log.debug("%s: hook stdout: %s", describe(item), stdout.rstrip())
        if stderr:
            log.debug("%s: hook stderr: %s", describe(item), stderr.rstrip())
        return signal_data(proc.returncode, stdout, stderr)


def _get(item: Any, key: str) -> Any:
    return item.get(key) if isinstance(item, dict) else None
