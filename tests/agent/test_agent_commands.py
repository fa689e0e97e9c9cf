"""The operator commands as a user runs them (subprocesses): `stoker agent status`, `redeploy`,
`doctor`, the subcommand-less daemon flags, and `heat-config-notify`."""
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from agent.outbox import Outbox
from agent.paths import Paths
from agent.runner import DeploymentRunner
from agent.signals.fake import FakeTransport
from collector import config

REPO = Path(__file__).resolve().parents[2]
TOKEN = "server-token-xyz"


def clean_env(**extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HEAT_", "STOKER_"))}
    env["PYTHONPATH"] = str(REPO)
    env.update(extra)
    return env


def stoker(*args, env=None, **kwargs):
    return subprocess.run([sys.executable, "-m", "cli.main", "agent", *args], cwd=REPO, env=env or clean_env(),
                          capture_output=True, text=True, timeout=60, **kwargs)


def write_config(root, metadata_url, token=TOKEN):
    (root / "etc").mkdir(parents=True, exist_ok=True)
    path = root / "etc/os-collect-config.conf"
    path.write_text(config.render({"watch": {"metadata_url": metadata_url, "auth_token": token}}))
    path.chmod(0o600)
    return path


@pytest.fixture
def deployed_root(tmp_path, hook_env, item_factory):
    """A root where two deployments ran: one signalled, one whose signal is still pending."""
    root = tmp_path / "root"
    paths = Paths.under(str(root), env=hook_env)
    up, down = FakeTransport(), FakeTransport()
    down.fail_next(message="cannot reach http://127.0.0.1:9/v1/signal/deployments/x?sig=***: connection refused")
    outbox = Outbox(paths.outbox_dir, choose=lambda item: down if item["id"].startswith("2") else up, retry_base=0)
    runner = DeploymentRunner(paths, outbox, env=hook_env)
    runner.run([item_factory("11111111-aaaa", name="web", config="#!/bin/sh\necho web\n"),
                item_factory("22222222-bbbb", name="db", config="#!/bin/sh\nexit 5\n")])
    return root


def test_status_table(deployed_root):
    out = stoker("status", "--root", str(deployed_root))
    assert out.returncode == 0, out.stderr
    header, web, db = out.stdout.splitlines()
    assert header.split() == ["DEPLOYMENT", "NAME", "ACTION", "STATE", "EXIT", "DURATION", "LAST", "SIGNAL"]
    assert web.split()[:5] == ["11111111-aaaa", "web", "CREATE", "signalled", "0"]
    assert " sent 20" in web
    assert db.split()[:5] == ["22222222-bbbb", "db", "CREATE", "finished", "5"]
    assert db.endswith("pending, 1 failed tries: cannot reach http://127.0.0.1:9/v1/signal/deployments/x?sig=***: "
                       "connection refused")
    as_json = json.loads(stoker("--root", str(deployed_root), "status", "--json").stdout)  # --root either side
    assert [r["state"] for r in as_json] == ["signalled", "finished"]


def test_status_of_an_empty_root(tmp_path):
    out = stoker("status", "--root", str(tmp_path))
    assert (out.returncode, out.stdout) == (0, "no deployments yet\n")


def test_redeploy_command(deployed_root):
    out = stoker("redeploy", "web", "--root", str(deployed_root))
    assert out.returncode == 0, out.stderr
    assert out.stdout == ("deployment 11111111-aaaa will run again on the agent's next pass "
                          "(or now with `stoker agent --once`)\n")
    assert (deployed_root / "var/lib/stoker/run-requested").exists()
    status = json.loads(stoker("status", "--json", "--root", str(deployed_root)).stdout)
    assert status[0]["state"] == "received"

    missing = stoker("redeploy", "nope", "--root", str(deployed_root))
    assert missing.returncode == 1
    assert missing.stderr == ("stoker agent redeploy: no deployment 'nope' on this server "
                              "(known: 11111111-aaaa (web), 22222222-bbbb (db))\n")


def lines_by_check(stdout):
    """{check name: its line}; a line is `level  check  detail`, columns two spaces apart."""
    return {re.split(r"\s{2,}", line, maxsplit=2)[1]: line for line in stdout.splitlines()}


def test_doctor_all_good(tmp_path, http_server):
    http_server.handler = lambda request: (200, {"Content-Type": "application/json"},
                                           b'{"deployments": [{"id": "a"}]}')
    root = tmp_path / "root"
    write_config(root, http_server.url("/v1/t/servers/s/metadata"))
    out = stoker("doctor", "--root", str(root))
    assert out.returncode == 0, out.stdout + out.stderr
    checks = lines_by_check(out.stdout)
    assert checks["config"].startswith("ok") and "collectors watch" in checks["config"]
    assert checks["server"].startswith("ok") and "answered 200" in checks["server"]
    assert re.fullmatch(r"ok\s+credentials\s+token accepted", checks["credentials"])
    assert "1 deployment(s)" in checks["document"]
    assert checks["clock"].startswith("ok")
    assert "script" in checks["built-in hooks"] and "json-file" in checks["built-in hooks"]
    [request] = http_server.wait_for(1)
    assert request.headers["x-auth-token"] == TOKEN
    assert TOKEN not in out.stdout


def test_doctor_reports_bad_credentials_and_what_to_do(tmp_path, http_server):
    http_server.handler = lambda request: (401, {"Content-Type": "application/json"}, b"{}")
    root = tmp_path / "root"
    write_config(root, http_server.url("/v1/t/servers/s/metadata")).chmod(0o644)
    out = stoker("doctor", "--root", str(root))
    assert out.returncode == 1
    checks = lines_by_check(out.stdout)
    assert checks["credentials"].startswith("FAIL") and "refused the token (401)" in checks["credentials"]
    assert checks["config"].startswith("ok")
    assert checks["config mode"].startswith("warn") and "chmod 600" in checks["config mode"]


def test_doctor_unreachable_server_and_pending_signals(deployed_root, closed_url):
    url = closed_url("/v1/t/servers/s/metadata")
    write_config(deployed_root, url)
    out = stoker("doctor", "--root", str(deployed_root), env=clean_env(PATH="/nonexistent"))
    assert out.returncode == 1
    checks = lines_by_check(out.stdout)
    assert re.fullmatch(rf"FAIL\s+server\s+cannot reach {re.escape(url)}: connection refused", checks["server"])
    assert "1 result(s) waiting to be delivered" in checks["signals"]
    assert "ansible (needs ansible-playbook)" in checks["missing tools"]


def test_doctor_bad_config(tmp_path):
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc/os-collect-config.conf").write_text("[DEFAULT]\ncollectors = nosuch\n")
    out = stoker("doctor", "--root", str(tmp_path))
    assert out.returncode == 1
    assert "FAIL  config" in out.stdout and "unknown collector 'nosuch'" in out.stdout


def test_help_lists_the_commands():
    out = stoker("--help")
    assert out.returncode == 0
    for word in ("status", "redeploy", "doctor", "--once", "--deploy-timeout", "--signal-retry-max"):
        assert word in out.stdout


# -- heat-config-notify ---------------------------------------------------------------------------

def notify(*args, stdin="", root=None):
    env = clean_env(**({"STOKER_AGENT_ROOT": str(root)} if root else {}))
    return subprocess.run([sys.executable, "-m", "agent.notify", *args], cwd=REPO, env=env, input=stdin,
                          capture_output=True, text=True, timeout=60)


def test_notify_usage_and_missing_file(tmp_path):
    assert notify().returncode == 1
    out = notify(str(tmp_path / "missing.json"))
    assert out.returncode == 1 and "cannot read config file" in out.stderr


def test_notify_sends_through_the_outbox(tmp_path, http_server, item_factory):
    item = item_factory(signal_url=http_server.url("/v1/signal/deployments/d?sig=x"), verb="POST")
    config_file = tmp_path / "dep-1.json"
    config_file.write_text(json.dumps(item))
    out = notify(str(config_file), stdin='{"deploy_status_code": 0, "x": 1}', root=tmp_path / "root")
    assert out.returncode == 0, out.stderr
    [request] = http_server.wait_for(1)
    assert request.method == "POST" and request.json() == {"deploy_status_code": 0, "x": 1}
    assert request.headers["x-stoker-attempt"]
    assert not list((tmp_path / "root/var/lib/stoker/outbox").glob("*.json"))

    out = notify(str(config_file), stdin="not json", root=tmp_path / "root")
    assert out.returncode == 0 and "not JSON; sending {}" in out.stderr
    assert http_server.wait_for(2)[1].json() == {}


def test_notify_with_the_server_down_leaves_the_result_for_the_agent(tmp_path, closed_url, item_factory):
    item = item_factory(signal_url=closed_url("/v1/signal/deployments/d?sig=x"))
    config_file = tmp_path / "dep-1.json"
    config_file.write_text(json.dumps(item))
    out = notify(str(config_file), stdin='{"deploy_status_code": 0}', root=tmp_path / "root")
    assert out.returncode == 0
    [entry] = (tmp_path / "root/var/lib/stoker/outbox").glob("*.json")
    assert json.loads(entry.read_text())["payload"] == {"deploy_status_code": 0}
