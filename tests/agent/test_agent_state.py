"""The per-deployment state machine: what a run leaves on disk, and what the next run does after a
crash at each step (simulated in-process; test_agent_faults.py does it with kill -9)."""
import os
import subprocess
import time
from pathlib import Path

import psutil
import pytest

from agent import redeploy, status
from agent.outbox import Outbox
from agent.runner import ALREADY_DEPLOYED, DEPLOYED, RESUMED, DeploymentRunner
from agent.state import FINISHED, MAX_INTERRUPTED, RUNNING, SIGNALLED, DeploymentState, StateStore

COUNTING = '#!/bin/sh\necho run >> "$counter"\necho "ran $(wc -l < "$counter")"\n'


def counting_item(item_factory, tmp_path, ident="d1", **extra):
    return item_factory(ident, config=COUNTING,
                        inputs=[{"name": "counter", "type": "String", "value": str(tmp_path / f"{ident}.count")}],
                        **extra)


def runs(tmp_path, ident="d1"):
    path = tmp_path / f"{ident}.count"
    return len(path.read_text().splitlines()) if path.exists() else 0


class Crash(BaseException):
    """Stands for kill -9: nothing after the point where it is raised happens."""


class CrashingOutbox(Outbox):
    def deliver(self, item, payload, attempt=None):
        raise Crash()


def test_a_run_ends_signalled_with_its_attempt_and_timings(runner, paths, transport, item_factory, tmp_path):
    [report] = runner.run([counting_item(item_factory, tmp_path)])
    assert report.outcome == DEPLOYED
    state = runner.states.get("d1")
    assert state.state == SIGNALLED and state.signal == "sent" and state.status_code == 0
    assert state.attempt == transport.attempts[0] and len(state.attempt) == 36
    assert state.started_at <= state.finished_at <= state.signalled_at
    assert Path(state.log_dir, "stdout.log").exists()
    # a second pass does nothing
    assert [r.outcome for r in runner.run([counting_item(item_factory, tmp_path)])] == [ALREADY_DEPLOYED]
    assert runs(tmp_path) == 1 and len(transport.sent) == 1


def test_crash_after_the_result_was_recorded_resends_it_without_rerunning(paths, hook_env, transport, item_factory,
                                                                          tmp_path, url_selector):
    choose = url_selector(lambda: transport)
    crashing = DeploymentRunner(paths, CrashingOutbox(paths.outbox_dir, choose=choose), env=hook_env)
    item = counting_item(item_factory, tmp_path)
    with pytest.raises(Crash):
        crashing.run([item])
    state = StateStore(paths.deployments_state_dir).get("d1")
    assert state.state == FINISHED and runs(tmp_path) == 1

    restarted = DeploymentRunner(paths, Outbox(paths.outbox_dir, choose=choose), env=hook_env)
    [report] = restarted.run([item])
    assert report.outcome == RESUMED and report.signal == "sent"
    assert runs(tmp_path) == 1  # the hook did not run again
    assert transport.attempts == [state.attempt]  # the result keeps its attempt id
    assert transport.payloads("d1")[0]["deploy_stdout"] == "ran 1\n"
    assert restarted.states.get("d1").state == SIGNALLED


def test_crash_after_sending_before_forgetting_resends_the_same_attempt(runner, outbox, paths, transport,
                                                                        item_factory, tmp_path):
    item = counting_item(item_factory, tmp_path)
    runner.run([item])
    state = runner.states.get("d1")
    # as if the agent died after the server answered but before the entry was removed and the
    # state updated: the entry is back, the state says finished
    outbox.enqueue(item, transport.payloads("d1")[0], state.attempt)
    runner.states.transition(state, FINISHED)

    [report] = runner.run([item])
    assert report.outcome == RESUMED and report.signal == "pending"
    assert outbox.flush() == 0
    assert transport.attempts == [state.attempt, state.attempt]  # the server sees a duplicate
    assert runner.states.get("d1").state == SIGNALLED and runs(tmp_path) == 1


def test_interrupted_hook_is_killed_and_run_again(runner, paths, transport, item_factory, tmp_path):
    item = counting_item(item_factory, tmp_path)
    # a hook left running by a killed agent, in its own process group
    orphan = subprocess.Popen(["sleep", "60"], start_new_session=True)
    try:
        created = psutil.Process(orphan.pid).create_time()
        runner.states.put(DeploymentState(id="d1", state=RUNNING, started_at=time.time(), hook_pid=orphan.pid,
                                          hook_started=created))
        [report] = runner.run([item])
        # gone (psutil may have reaped it first, so its exit status is not reliable here)
        orphan.wait(timeout=10)
    finally:
        orphan.kill()
        orphan.wait()
    assert report.outcome == DEPLOYED and runs(tmp_path) == 1
    state = runner.states.get("d1")
    assert state.state == SIGNALLED and state.interrupted == 1
    assert transport.payloads("d1") == [{"deploy_stdout": "ran 1\n", "deploy_stderr": "", "deploy_status_code": 0}]


def test_a_pid_reused_by_another_process_is_left_alone(runner, item_factory, tmp_path):
    other = subprocess.Popen(["sleep", "60"], start_new_session=True)
    try:
        runner.states.put(DeploymentState(id="d1", state=RUNNING, hook_pid=other.pid, hook_started=1.0))
        runner.run([counting_item(item_factory, tmp_path)])
        assert other.poll() is None
    finally:
        other.kill()
        other.wait()


def test_too_many_interruptions_are_reported_not_retried(runner, transport, item_factory, tmp_path):
    runner.states.put(DeploymentState(id="d1", state=RUNNING, interrupted=MAX_INTERRUPTED - 1))
    [report] = runner.run([counting_item(item_factory, tmp_path)])
    assert runs(tmp_path) == 0
    [payload] = transport.payloads("d1")
    assert payload["deploy_status_code"] == 1
    assert f"interrupted {MAX_INTERRUPTED} times" in payload["deploy_stderr"]
    assert runner.states.get("d1").state == SIGNALLED


@pytest.mark.timeout(30)
def test_hung_hook_is_killed_at_its_timeout_with_its_children(paths, outbox, hook_env, transport, item_factory,
                                                              tmp_path):
    runner = DeploymentRunner(paths, outbox, env=hook_env, kill_grace=1)
    pidfile = tmp_path / "child.pid"
    config = f'#!/bin/sh\necho starting\nsleep 60 &\necho $! > {pidfile}\nwait\n'
    item = item_factory(config=config, inputs=[{"name": "deploy_timeout", "type": "Number", "value": 0.5}])
    started = time.monotonic()
    [report] = runner.run([item])
    assert time.monotonic() - started < 10
    assert report.status_code == 124
    [payload] = transport.payloads("dep-1")
    assert payload["deploy_status_code"] == 124
    assert "deployment timed out after 0.5s (deploy_timeout)" in payload["deploy_stderr"]
    child = int(pidfile.read_text())
    assert not psutil.pid_exists(child) or psutil.Process(child).status() == psutil.STATUS_ZOMBIE
    state = runner.states.get("dep-1")
    assert state.timed_out and state.status_code == 124


def test_agent_default_timeout_applies_and_bad_deploy_timeout_falls_back(paths, outbox, hook_env, transport,
                                                                          item_factory, caplog):
    runner = DeploymentRunner(paths, outbox, env=hook_env, default_timeout=0.3, kill_grace=1)
    item = item_factory(config="#!/bin/sh\nexec sleep 30\n",
                        inputs=[{"name": "deploy_timeout", "type": "String", "value": "soon"}])
    [report] = runner.run([item])
    assert report.status_code == 124
    assert "deploy_timeout 'soon' is not a positive number of seconds; using 0.3s" in caplog.text


def test_signals_carry_bounded_tails_and_the_logs_keep_everything(paths, outbox, hook_env, transport,
                                                                  item_factory):
    runner = DeploymentRunner(paths, outbox, env=hook_env, tail_limit=1000)
    config = "#!/bin/sh\ni=0\nwhile [ $i -lt 2000 ]; do echo line-$i; i=$((i+1)); done\necho last-line\nexit 3\n"
    # an external hook that prints plain text: the runner reports its output itself
    hooks = Path(paths.root) / "var/lib/heat-config/hooks"
    hooks.mkdir(parents=True)
    (hooks / "plain").write_text(config)
    (hooks / "plain").chmod(0o755)
    runner.run([item_factory("big", group="plain")])
    [payload] = transport.payloads("big")
    log_path = Path(paths.logs_dir, "big", "stdout.log")
    assert payload["deploy_status_code"] == 3
    assert payload["deploy_stdout"].startswith("[stoker: first ")
    assert str(log_path) in payload["deploy_stdout"]
    assert payload["deploy_stdout"].endswith("line-1999\nlast-line\n")
    assert len(payload["deploy_stdout"]) < 1200
    assert log_path.read_text().startswith("line-0\n") and log_path.read_text().endswith("last-line\n")


def test_redeploy_runs_it_again_with_a_new_attempt_and_keeps_history(runner, paths, transport, item_factory,
                                                                      tmp_path):
    item = counting_item(item_factory, tmp_path, name="web")
    runner.run([item])
    assert not runner.rerun_requested()
    assert redeploy.request(paths, "web") == "d1"  # by name
    assert runner.rerun_requested()
    assert not Path(paths.deployed_dir, "d1.json").exists()

    [report] = runner.run([item])
    assert report.outcome == DEPLOYED and runs(tmp_path) == 2
    assert not runner.rerun_requested()
    state = runner.states.get("d1")
    assert len(state.history) == 1 and state.history[0]["status_code"] == 0
    assert transport.attempts[0] != transport.attempts[1]
    assert [p["deploy_stdout"] for p in transport.payloads("d1")] == ["ran 1\n", "ran 2\n"]


def test_redeploy_of_an_unknown_id_says_what_is_known(runner, paths, item_factory, tmp_path):
    runner.run([counting_item(item_factory, tmp_path, name="web")])
    with pytest.raises(LookupError, match=r"no deployment 'nope' on this server \(known: d1 \(web\)\)"):
        redeploy.request(paths, "nope")


def test_upstream_marker_without_state_is_already_deployed(runner, paths, transport, item_factory, tmp_path):
    os.makedirs(paths.deployed_dir)
    Path(paths.deployed_dir, "d1.json").write_text("")  # as heat-config-rebuild-deployed leaves it
    assert [r.outcome for r in runner.run([counting_item(item_factory, tmp_path)])] == [ALREADY_DEPLOYED]
    assert runs(tmp_path) == 0 and transport.sent == []


def test_status_rows(runner, paths, transport, item_factory, tmp_path):
    transport.fail_next(message="connection refused")
    runner.run([counting_item(item_factory, tmp_path, "d1", name="first"),
                item_factory("d2", name="second", config="#!/bin/sh\nexit 4\n")])
    runner.run([item_factory("d2", name="second", config="#!/bin/sh\nexit 4\n")])  # d1 vanished from the list
    rows = {r["id"]: r for r in status.rows_for(paths)}
    assert rows["d1"]["state"] == "finished" and rows["d1"]["exit"] == "0"
    assert rows["d1"]["last_signal"] == "pending, 1 failed tries: connection refused"
    assert rows["d1"]["name"] == "first (no longer listed)"
    assert rows["d2"]["state"] == "signalled" and rows["d2"]["exit"] == "4"
    assert rows["d2"]["last_signal"].startswith("sent 20")
    assert rows["d2"]["duration"].endswith("s")


@pytest.mark.timeout(30)
def test_a_hook_that_ignores_sigterm_is_killed_after_the_grace(paths, outbox, hook_env, transport, item_factory,
                                                              tmp_path):
    runner = DeploymentRunner(paths, outbox, env=hook_env, kill_grace=0.5)
    pidfile = tmp_path / "child.pid"
    config = f"#!/bin/sh\ntrap '' TERM\nsleep 60 &\necho $! > {pidfile}\nwait\n"
    item = item_factory(config=config, inputs=[{"name": "deploy_timeout", "type": "Number", "value": 0.5}])
    started = time.monotonic()
    [report] = runner.run([item])
    elapsed = time.monotonic() - started
    assert report.status_code == 124
    assert 1.0 <= elapsed < 8, elapsed  # the deadline, then the grace, then SIGKILL
    child = int(pidfile.read_text())
    assert not psutil.pid_exists(child) or psutil.Process(child).status() == psutil.STATUS_ZOMBIE
