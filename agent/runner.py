"""The deployment runner: heat-config's 55-heat-config, item by item, with a state machine.

For each deployment in order: coerce String inputs, resolve `component` to the entry for the
current action, look at its state (state.py) and do what is left: find its hook, write upstream's
marker, run the hook (own process group, deadline, output to log files), turn the hook's answer
into signal data, keep it in `<id>.notify.json` and hand it to the outbox. A failing item never
stops the ones after it.
"""
from __future__ import annotations

import copy
import fcntl
import json
import logging
import os
import shutil
import time
from dataclasses import dataclass
from typing import Any, Mapping

import agent
from agent import hook_process, hooks
from agent.deployment import (COMPONENT_GROUP, coerce_string_inputs, deployment_id, describe, input_values,
                              select_component)
from agent.hooks.script import OUTPUTS_ENV, WORKING_ENV
from agent.outbox import Outbox, new_attempt
from agent.paths import ROOT_ENV, Paths
from agent.signals.native import PhaseReporter
from agent.state import FINISHED, MAX_INTERRUPTED, RECEIVED, RUNNING, SIGNALLED, DeploymentState, StateStore
from stoker_common import atomic

log = logging.getLogger(__name__)

# Outcomes of one item
DEPLOYED = "deployed"
ALREADY_DEPLOYED = "already-deployed"
NO_HOOK = "no-hook"
NO_ACTION = "no-component-action"
APPLIED = "applied"  # an os-apply-config item: the refresh that rendered it succeeded, so it is signalled
FAILED = "failed"  # the runner itself could not handle the item (bad item, unwritable marker...)
RESUMED = "resumed"  # its result was recorded before a crash; only the signal was (re)queued

DEFAULT_TIMEOUT = 3600.0
# Per stream, in characters: what a signal carries of deploy_stdout / deploy_stderr (P7).
DEFAULT_TAIL = 64 * 1024
NO_HOOK_STATUS = 127

# Groups that are applied by os-apply-config rather than a hook, so having no hook is expected.
HOOKLESS_GROUPS = ("os-apply-config",)
# What TIE's post-configure.d/99-refresh-completed signalled for each of them, once.
APPLIED_STDOUT = "os-apply-config deployment {id} completed"
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
    def __init__(self, paths: Paths, outbox: Outbox, env: Mapping[str, str] | None = None,
                 states: StateStore | None = None, default_timeout: float = DEFAULT_TIMEOUT,
                 tail_limit: int = DEFAULT_TAIL, phases: PhaseReporter | None = None,
                 kill_grace: float = hook_process.KILL_GRACE, clock=time.time):
        self.paths = paths
        self.outbox = outbox
        self.env = dict(os.environ if env is None else env)
        self.states = states or StateStore(paths.deployments_state_dir, clock)
        if outbox.listener is None:
            outbox.listener = self.states.mark_signalled
        self.default_timeout = default_timeout
        self.tail_limit = tail_limit
        self.phases = phases
        self.kill_grace = kill_grace
        self.clock = clock

    def run(self, deployments: list) -> list[ItemReport]:
        """Apply every deployment not yet deployed. Raises only if the run could not start."""
        atomic.ensure_dir(self.paths.state_dir)
        with open(self.paths.lock_file, "a") as lock:
            # One runner at a time: the daemon, `--once` and a hand-run must not run a hook twice.
            fcntl.flock(lock, fcntl.LOCK_EX)
            self.clear_rerun_request()
            # What os-apply-config renders from `{{deployments}}`; 0600 because inputs carry secrets.
            atomic.ensure_dir(os.path.dirname(self.paths.heat_config))
            atomic.write_json(self.paths.heat_config, deployments, indent=None, mode=0o600)
            self._migrate_old_markers()
            atomic.ensure_dir(self.paths.deployed_dir)
            reports = [self._each(self._deploy, item) for item in deployments]
            # os-apply-config rendered these before this run (configure.d/20 precedes 55, and the
            # daemon's collect precedes its run); they are signalled only once every hook ran, as
            # 99-refresh-completed did after configure.d, so a stack using the group completes.
            for index, item in enumerate(deployments):
                if reports[index].outcome == NO_HOOK and _get(item, "group") in HOOKLESS_GROUPS:
                    reports[index] = self._each(self._signal_applied, item)
            return reports

    def _each(self, step, item: Any) -> ItemReport:
        try:
            return step(item)
        except Exception as exc:  # one item's problem must not stop the others
            log.error("%s: not deployed: %s", describe(item), exc)
            log.debug("details", exc_info=True)
            return ItemReport(_get(item, "id"), _get(item, "name"), FAILED)

    def _migrate_old_markers(self) -> None:
        """As 55-heat-config: markers kept in /var/run (lost at reboot) move to /var/lib once."""
        if os.path.isdir(self.paths.deployed_dir) or not os.path.isdir(self.paths.old_deployed_dir):
            return
        log.info("migrating deployed markers from %s to %s", self.paths.old_deployed_dir, self.paths.deployed_dir)
        atomic.ensure_dir(os.path.dirname(self.paths.deployed_dir))
        shutil.move(self.paths.old_deployed_dir, self.paths.deployed_dir)

    # -- redeploy requests (`stoker agent redeploy ID`) -------------------------------------------

    def rerun_requested(self) -> bool:
        return os.path.exists(self.paths.rerun_request)

    def clear_rerun_request(self) -> None:
        try:
            os.unlink(self.paths.rerun_request)
        except FileNotFoundError:
            pass

    # -- one item ---------------------------------------------------------------------------------

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

        marker = self._marker(ident)
        state = self.states.get(ident)
        if state is None and os.path.exists(marker):
            # deployed by upstream's heat-config, or marked by heat-config-rebuild-deployed
            log.debug("%s: already deployed (remove %s to deploy it again)", describe(item), marker)
            report.outcome = ALREADY_DEPLOYED
            return report
        if state is not None and state.state == SIGNALLED:
            report.outcome = ALREADY_DEPLOYED
            report.status_code = state.status_code
            return report
        if state is not None and state.state == FINISHED:
            return self._resume_signal(item, state, report)

        group = item.get("group") or "Heat::Ungrouped"
        hook = hooks.find(group, self.paths.hook_dirs)
        if hook is None:
            if group in HOOKLESS_GROUPS:
                report.outcome = NO_HOOK
                return report
            # Upstream skipped silently and Heat waited until its timeout; say it, to the server too.
            message = (f"no hook for group {group!r} (looked in {', '.join(self.paths.hook_dirs)} "
                       "and the built-in hooks)")
            log.error("%s: %s; reported as failed", describe(item), message)
            state = state or self._new_state(item)
            payload = {"deploy_stdout": "", "deploy_stderr": f"stoker: {message}\n",
                       "deploy_status_code": NO_HOOK_STATUS}
            report.outcome = NO_HOOK
            return self._finish(item, state, payload, report)

        if state is None:
            state = self.states.put(self._new_state(item))
        elif state.state == RUNNING:
            interrupted = self._interrupted(item, state)
            if interrupted is not None:
                return self._finish(item, state, interrupted, report)

        # Written before the hook runs, as upstream, for tooling that looks for it; stoker itself
        # goes by the state file, so a run that is interrupted is run again.
        atomic.write_json(marker, item, indent=2, mode=0o600)
        log_dir = os.path.join(self.paths.logs_dir, ident)
        self.states.transition(state, RUNNING, started_at=self.clock(), finished_at=None, hook_pid=None,
                               hook_started=None, status_code=None, timed_out=False, log_dir=log_dir)
        timeout = self._timeout(item)
        log.info("%s: running %s (timeout %gs)", describe(item), hook, timeout)
        if self.phases is not None:
            self.phases.report(item)
        payload = self._run_hook(hook, item, state, log_dir, timeout)
        return self._finish(item, state, payload, report)

    def _signal_applied(self, item: Any) -> ItemReport:
        ident = deployment_id(item)
        report = ItemReport(ident, item.get("name"), APPLIED)
        state = self.states.get(ident)
        marker = os.path.join(self.paths.oac_deployed_dir, ident)
        if (state is None and os.path.exists(marker)) or (state is not None and state.state == SIGNALLED):
            report.outcome = ALREADY_DEPLOYED  # signalled before, by stoker or by 99-refresh-completed
            return report
        if state is not None and state.state == FINISHED:
            return self._resume_signal(item, state, report)
        state = state or self.states.put(self._new_state(item))
        # The marker upstream's 99-refresh-completed looks for: an image that runs both signals once.
        atomic.ensure_dir(self.paths.oac_deployed_dir)
        atomic.write_text(marker, "", mode=0o600)
        payload = {"deploy_stdout": APPLIED_STDOUT.format(id=ident), "deploy_status_code": "0"}
        report = self._finish(item, state, payload, report)
        report.status_code = 0
        return report

    def _new_state(self, item: dict) -> DeploymentState:
        return DeploymentState(id=item["id"], name=item.get("name"), group=item.get("group"),
                               action=input_values(item).get("deploy_action"), state=RECEIVED,
                               received_at=self.clock())

    def _interrupted(self, item: dict, state: DeploymentState) -> dict[str, Any] | None:
        """A run that started and never recorded its result: the agent died (kill -9, reboot)."""
        state.interrupted += 1
        if hook_process.is_alive(state.hook_pid, state.hook_started):
            # Its output goes to files and its exit status to nobody: stop it before running again.
            log.warning("%s: hook pid %s from an interrupted run is still running; killing it",
                        describe(item), state.hook_pid)
            hook_process.kill_tree(state.hook_pid, self.kill_grace, state.hook_started)
        if state.interrupted >= MAX_INTERRUPTED:
            log.error("%s: interrupted %d times; reporting it as failed", describe(item), state.interrupted)
            return {"deploy_stdout": "", "deploy_status_code": 1,
                    "deploy_stderr": f"stoker: the deployment was interrupted {state.interrupted} times "
                                     "(agent killed or machine restarted while its hook ran); not retried\n"}
        log.warning("%s: its previous run was interrupted (agent killed or machine restarted); running it "
                    "again (%d of %d)", describe(item), state.interrupted + 1, MAX_INTERRUPTED)
        self.states.put(state)
        return None

    def _finish(self, item: dict, state: DeploymentState, payload: dict[str, Any],
                report: ItemReport) -> ItemReport:
        report.status_code = payload.get("deploy_status_code", 0)
        atomic.write_json(self._marker(item["id"]).replace(".json", ".notify.json"), payload, indent=2, mode=0o600)
        # The result and its attempt id are on disk before anything is sent: a crash from here on
        # resends this very result (same attempt id), never runs the hook again.
        self.states.transition(state, FINISHED, finished_at=self.clock(), status_code=report.status_code,
                               attempt=new_attempt(), hook_pid=None, signal=None, signal_detail=None)
        log.info("%s: hook finished with deploy_status_code %s", describe(item), report.status_code)
        report.signal = self.outbox.deliver(item, payload, state.attempt)
        return report

    def _resume_signal(self, item: dict, state: DeploymentState, report: ItemReport) -> ItemReport:
        report.outcome = RESUMED
        report.status_code = state.status_code
        if self.outbox.has(item["id"]):
            report.signal = "pending"
            return report
        try:
            with open(self._marker(item["id"]).replace(".json", ".notify.json"), encoding="utf-8") as f:
                payload = json.load(f)
        except (OSError, ValueError) as exc:
            raise RuntimeError(f"its result was recorded but {exc}; run `stoker agent redeploy {item['id']}`")
        log.warning("%s: its result was recorded but not signalled before the agent stopped; signalling it now",
                    describe(item))
        report.signal = self.outbox.deliver(item, payload, state.attempt)
        return report

    def _timeout(self, item: dict) -> float:
        value = input_values(item).get("deploy_timeout")
        if value in (None, ""):
            return self.default_timeout
        try:
            seconds = float(value)
        except (TypeError, ValueError):
            seconds = 0
        if not seconds > 0:
            log.warning("%s: deploy_timeout %r is not a positive number of seconds; using %gs", describe(item),
                        value, self.default_timeout)
            return self.default_timeout
        return seconds

    def _marker(self, ident: str) -> str:
        return os.path.join(self.paths.deployed_dir, ident + ".json")

    def _run_hook(self, hook: hooks.Hook, item: dict, state: DeploymentState, log_dir: str,
                  timeout: float) -> dict[str, Any]:
        env = dict(self.env)
        # Keep the hooks' files under the agent's root (upstream's script hook honours these too).
        env[WORKING_ENV] = self.paths.script_working_dir
        env[OUTPUTS_ENV] = self.paths.script_outputs_dir
        if hook.builtin:
            env[ROOT_ENV] = self.paths.root
        # `python -m` puts the working directory first on sys.path, so a built-in hook started there
        # imports this very agent, installed or run from a checkout, without a PYTHONPATH that would
        # leak into the user's scripts. (The script hook runs scripts in its own working directory.)
        cwd = _SOURCE_ROOT if hook.builtin else None

        def started(pid: int, create_time: float | None) -> None:
            self.states.transition(state, RUNNING, hook_pid=pid, hook_started=create_time)

        try:
            run = hook_process.run(hook.argv, json.dumps(item).encode("utf-8"), env, log_dir, timeout, cwd=cwd,
                                   on_start=started, grace=self.kill_grace)
        except OSError as exc:
            return {"deploy_stdout": "", "deploy_stderr": f"cannot run {hook}: {exc.strerror or exc}\n",
                    "deploy_status_code": 127 if isinstance(exc, FileNotFoundError) else 126}
        if run.stdout:
            log.debug("%s: hook stdout: %s", describe(item), run.stdout.rstrip()[:2000])
        if run.stderr:
            log.debug("%s: hook stderr: %s", describe(item), run.stderr.rstrip()[:2000])
        state.timed_out = run.timed_out
        if run.timed_out:
            stderr = run.stderr + (f"\nstoker: deployment timed out after {timeout:g}s (deploy_timeout); "
                                   "the hook and its process group were killed\n")
            payload = {"deploy_stdout": run.stdout, "deploy_stderr": stderr,
                       "deploy_status_code": hook_process.TIMEOUT_STATUS}
        else:
            payload = signal_data(run.returncode, run.stdout, run.stderr)
        for key, name in (("deploy_stdout", "stdout.log"), ("deploy_stderr", "stderr.log")):
            if isinstance(payload.get(key), str):
                payload[key] = hook_process.tail(payload[key], self.tail_limit, os.path.join(log_dir, name))
        return payload


def _get(item: Any, key: str) -> Any:
    return item.get(key) if isinstance(item, dict) else None
