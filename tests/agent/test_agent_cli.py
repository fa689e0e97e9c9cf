"""`stoker agent` as a user runs it: subprocesses against a loopback server."""
import argparse
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from agent import cli
from collector import config

REPO = Path(__file__).resolve().parents[2]
TOKEN = "server-token-xyz"


def write_config(root, metadata_url, **globals_):
    (root / "etc").mkdir(parents=True, exist_ok=True)
    (root / "etc/os-collect-config.conf").write_text(
        config.render({"watch": {"metadata_url": metadata_url, "auth_token": TOKEN}}, **globals_))


def stoker(*args, **kwargs):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HEAT_", "STOKER_"))}
    env["PYTHONPATH"] = str(REPO)
    return subprocess.run([sys.executable, "-m", "cli.main", "agent", *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=60, **kwargs)


def test_register_adds_the_agent_subcommand():
    parser = argparse.ArgumentParser(prog="stoker")
    cli.register(parser.add_subparsers(dest="command"), "agent", "run the agent")
    args = parser.parse_args(["agent", "--root", "/r", "--once", "--polling-interval", "5",
                              "--min-polling-interval", "0.5", "--log-level", "debug"])
    assert (args.root, args.once, args.polling_interval, args.min_polling_interval, args.log_level) == (
        "/r", True, 5.0, 0.5, "DEBUG")
    assert args.func is cli.run
    with pytest.raises(SystemExit):
        parser.parse_args(["agent", "--polling-interval", "0"])


def test_help():
    out = stoker("--help")
    assert out.returncode == 0
    for flag in ("--root", "--config-file", "--once", "--polling-interval", "--min-polling-interval", "--log-level"):
        assert flag in out.stdout
    assert "[watch]" in out.stdout


def test_once_deploys_and_signals(tmp_path, http_server, item_factory):
    signal_url = http_server.url("/v1/signal/deployments/dep-1?sig=abc")
    item = item_factory("dep-1", config='#!/bin/sh\necho "hello $who"\nprintf 7 > "$heat_outputs_path.answer"\n',
                        inputs=[{"name": "who", "type": "String", "value": "world"}],
                        outputs=[{"name": "answer", "type": "String"}], signal_url=signal_url, verb="PUT")
    document = {"deployments": [item], "os-collect-config": {"collectors": ["watch"]}}

    def handler(request):
        if request.method == "GET":
            return 200, {"ETag": '"1"', "Content-Type": "application/json"}, json.dumps(document).encode()
        return 200, {"Content-Type": "application/json"}, b'{"signal": {"applied": true}}'

    http_server.handler = handler
    root = tmp_path / "root"
    write_config(root, http_server.url("/v1/t/servers/s/metadata"))

    out = stoker("--root", str(root), "--once")

    assert out.returncode == 0, out.stderr
    get, phase, put = http_server.wait_for(3)
    assert get.headers["x-auth-token"] == TOKEN
    # the signal URL is this server's own: a phase report precedes the result
    assert phase.method == "PUT" and phase.headers["x-stoker-phase"] == "running" and phase.json() == {}
    assert "x-stoker-attempt" not in phase.headers
    assert put.method == "PUT" and put.path == "/v1/signal/deployments/dep-1?sig=abc"
    assert len(put.headers["x-stoker-attempt"]) == 36 and "x-stoker-phase" not in put.headers
    assert put.json() == {"answer": "7", "deploy_stdout": "hello world\n", "deploy_stderr": "",
                          "deploy_status_code": 0}
    assert (root / "var/lib/os-collect-config/watch.json.last").exists()
    assert json.loads((root / "var/run/heat-config/heat-config").read_text()) == [item]
    assert (root / "var/lib/heat-config/deployed/dep-1.json").exists()
    assert not list((root / "var/lib/stoker/outbox").glob("*.json"))
    assert "signalled" in out.stderr and "stoker-agent INFO" in out.stderr


def test_once_without_a_reachable_source_fails_with_one_line(tmp_path, closed_url):
    url = closed_url("/v1/t/servers/s/metadata")
    write_config(tmp_path, url)
    out = stoker("--root", str(tmp_path), "--once")
    assert out.returncode == 1
    lines = out.stderr.splitlines()
    assert len(lines) == 1, out.stderr
    assert lines[0].endswith(f"stoker-agent ERROR no collector could collect (watch: cannot reach {url}: "
                             "connection refused)")
    assert TOKEN not in out.stderr


def test_bad_config_names_file_and_key(tmp_path):
    conf = tmp_path / "agent.conf"
    conf.write_text("[DEFAULT]\npolling_interval = often\n")
    out = stoker("--root", str(tmp_path), "--config-file", str(conf), "--once")
    assert out.returncode == 2
    assert out.stderr.strip().endswith(f"ERROR {conf}: [DEFAULT] polling_interval = 'often': not a number")


def test_sigterm_stops_the_daemon_cleanly(tmp_path, closed_url):
    write_config(tmp_path, closed_url("/m"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HEAT_", "STOKER_"))}
    proc = subprocess.Popen([sys.executable, "-m", "agent", "--min-polling-interval", "30"], cwd=REPO,
                            env=dict(env, PYTHONPATH=str(REPO), STOKER_AGENT_ROOT=str(tmp_path)),
                            stderr=subprocess.PIPE, text=True)
    try:
        lines = []
        for line in proc.stderr:  # wait for the first failed poll; the agent is now sleeping 30 s
            lines.append(line)
            if "retrying in" in line:
                break
        proc.send_signal(signal.SIGTERM)
        rest = proc.stderr.read()
        assert proc.wait(timeout=20) == 0
    finally:
        proc.kill()
        proc.wait()
    assert "Traceback" not in "".join(lines) + rest
    assert "stopped" in rest


@pytest.mark.timeout(30)
def test_sigterm_during_a_long_poll_stops_at_once(tmp_path, http_server):
    import threading
    held, release = threading.Event(), threading.Event()

    def handler(request):
        if "wait=" in request.path:  # the long poll: hold it as stoker's server would
            held.set()
            release.wait(20)
            return 304, {"ETag": '"1"'}, b""
        return 200, {"ETag": '"1"', "Content-Type": "application/json"}, b'{"deployments": []}'

    http_server.handler = handler
    write_config(tmp_path, http_server.url("/v1/t/servers/s/metadata"), polling_interval=0.1,
                 min_polling_interval=0.1)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HEAT_", "STOKER_"))}
    proc = subprocess.Popen([sys.executable, "-m", "agent", "--root", str(tmp_path)], cwd=REPO,
                            env=dict(env, PYTHONPATH=str(REPO)), stderr=subprocess.PIPE, text=True)
    try:
        assert held.wait(20)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=5) == 0
        err = proc.stderr.read()
    finally:
        release.set()
        proc.kill()
        proc.wait()
    assert "SIGTERM received; stopping now" in err and "stopped" in err
    assert "Traceback" not in err


def test_agent_section_sets_the_defaults_and_flags_override_it(tmp_path):
    from agent import settings
    conf = tmp_path / "agent.conf"
    conf.write_text("[DEFAULT]\ncollectors = watch\n[agent]\ndeploy_timeout = 60\nkill_grace = 2\n")
    own = settings.load(str(conf))
    assert (own.deploy_timeout, own.signal_retry_max, own.kill_grace) == (60, 300, 2)
    parser = argparse.ArgumentParser(prog="stoker")
    cli.register(parser.add_subparsers(dest="command"), "agent", "run the agent")
    args = parser.parse_args(["agent", "--root", str(tmp_path), "--kill-grace", "9"])
    agent = cli.build(args, cli.Paths.under(str(tmp_path)), config.load(str(conf)), own)
    assert (agent.runner.default_timeout, agent.runner.kill_grace, agent.outbox.retry.cap) == (60, 9, 300)


@pytest.mark.parametrize("text, message", [
    ("[agent]\ndeploy_timeout = soon\n", "[agent] deploy_timeout = 'soon': must be a number of seconds above 0"),
    ("[agent]\ndeploy_timeout = 0\n", "[agent] deploy_timeout = '0': must be a number of seconds above 0"),
    ("[agent]\ntimeout = 5\n", "[agent] timeout: unknown setting (known: deploy_timeout, signal_retry_max, "
                               "kill_grace, metrics, metrics_interval, metrics_batch, metrics_dir)"),
])
def test_bad_agent_section_names_file_key_and_value(tmp_path, text, message):
    conf = tmp_path / "agent.conf"
    conf.write_text("[DEFAULT]\ncollectors = watch\n" + text)
    out = stoker("--root", str(tmp_path), "--config-file", str(conf), "--once")
    assert out.returncode == 2
    assert out.stderr.strip().endswith(f"ERROR {conf}: {message}")
