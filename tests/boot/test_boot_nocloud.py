"""The generated user_data under real cloud-init (Debian's package): schema, merge with a user's
own cloud-config, and a NoCloud boot in a throwaway root that installs and enables the agent."""
from __future__ import annotations

import json
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from boot_nocloud_root import in_namespaces
from boot_wheelhouse import EXAMPLE_INSTALL as INSTALL
from metadata_server.boot.userdata import AgentSettings, cloud_config, cloud_config_text, user_data

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
SETTINGS = AgentSettings("http://192.0.2.10:8004/v1/acme/servers/srv-1/metadata",
                         "s3cret-token-value", metrics_interval=20)
USER_CLOUD_CONFIG = textwrap.dedent("""\
    #cloud-config
    package_update: false
    write_files:
      - path: /etc/motd.d/user
        content: the user's own file
    runcmd:
      - [sh, -c, 'echo user-runcmd > /var/tmp/user-ran']
    """)


@pytest.mark.timeout(60)
def test_the_part_passes_cloud_init_schema(cloud_init, tmp_path):
    part = tmp_path / "stoker.yaml"
    part.write_text(cloud_config_text(SETTINGS, INSTALL))
    done = subprocess.run([cloud_init, "schema", "--config-file", str(part)],
                          capture_output=True, text=True, timeout=50)
    assert done.returncode == 0, done.stderr
    assert "Valid cloud-config" in done.stdout
    # the checker does catch what we could get wrong (a mode as a number)
    broken = cloud_config(SETTINGS, INSTALL)
    broken["write_files"][0]["permissions"] = 600
    part.write_text("#cloud-config\n" + yaml.safe_dump(broken))
    done = subprocess.run([cloud_init, "schema", "--config-file", str(part)],
                          capture_output=True, text=True, timeout=50)
    assert done.returncode == 1 and "permissions" in done.stderr


MERGE_SCRIPT = r"""
import json, sys, tempfile
from cloudinit import helpers, user_data, safeyaml
from cloudinit.config.schema import get_schema, validate_cloudconfig_schema
from cloudinit.handlers.cloud_config import CloudConfigPartHandler
tmp = tempfile.mkdtemp()
paths = helpers.Paths({"cloud_dir": tmp + "/cloud", "run_dir": tmp + "/run"})
message = user_data.UserDataProcessor(paths).process(open(sys.argv[1], "rb").read())
handler = CloudConfigPartHandler(paths)
handler.cloud_fn = tmp + "/cloud-config.txt"
handler.handle_part(None, "__begin__", None, None, None, None)
types = []
for part in message.walk():
    if part.get_content_maintype() == "multipart":
        continue
    types.append(part.get_content_type())
    if part.get_content_type() == "text/cloud-config":
        payload = part.get_payload(decode=True).decode()
        validate_cloudconfig_schema(safeyaml.load(payload), get_schema(), strict=True)
        handler.handle_part(None, "text/cloud-config", part.get_filename(), payload, 0,
                            dict(part.items()))
handler.handle_part(None, "__end__", None, None, None, None)
merged = safeyaml.load(open(handler.cloud_fn).read())
validate_cloudconfig_schema(merged, get_schema(), strict=True)
print(json.dumps({"types": types, "merged": merged}))
"""


@pytest.mark.timeout(60)
def test_merges_with_the_users_own_cloud_config(cloud_init, tmp_path):
    """Through cloud-init's own user-data processor and cloud-config merger."""
    data = tmp_path / "user-data"
    data.write_text(user_data(SETTINGS, INSTALL, user_data=USER_CLOUD_CONFIG))
    done = subprocess.run(["/usr/bin/python3", "-c", MERGE_SCRIPT, str(data)],
                          capture_output=True, text=True, timeout=50)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["types"] == ["text/cloud-config", "text/cloud-config"]
    merged = result["merged"]
    paths = [f["path"] for f in merged["write_files"]]
    assert paths == ["/etc/motd.d/user", "/etc/os-collect-config.conf",
                     "/etc/systemd/system/stoker-agent.service", "/usr/local/sbin/stoker-bootstrap"]
    assert merged["runcmd"] == [["sh", "-c", "echo user-runcmd > /var/tmp/user-ran"],
                                ["/usr/local/sbin/stoker-bootstrap"]]
    assert merged["package_update"] is False
    conf = merged["write_files"][1]["content"]
    assert conf.endswith("[agent]\nmetrics = on\nmetrics_interval = 20\nmetrics_batch = 20\n"), conf


@pytest.mark.timeout(240)
def test_nocloud_boot_installs_configures_enables_and_runs_the_agent(throwaway_root,
                                                                    agent_wheelhouse, tmp_path):
    """One boot, end to end: server registered, user_data generated and booted with NoCloud,
    agent installed from the server's wheelhouse (no other network in there), one agent pass
    deploys and signals."""
    root = throwaway_root
    work = tmp_path / "work"
    work.mkdir()
    users = tmp_path / "users.yaml"
    users.write_text(USER_CLOUD_CONFIG)
    done = in_namespaces(root, [sys.executable, str(HERE / "boot_nocloud_driver.py"), str(root),
                                str(work), str(users), str(agent_wheelhouse)],
                        timeout=230)
    log = root / "var/log/boot-stages.log"
    context = (log.read_text()[-3000:] if log.exists() else "") + done.stderr[-3000:]
    assert done.returncode == 0, context
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["boot_rc"] == 0, context

    status = (root / "var/log/boot-status.txt").read_text()
    assert "status: done" in status, status + context
    result = json.loads((root / "var/lib/cloud/data/result.json").read_text())
    assert result["v1"]["errors"] == [], result

    # the agent's configuration landed, readable by root only
    token = (work / "token").read_text()
    config = root / "etc/os-collect-config.conf"
    assert stat.S_IMODE(config.stat().st_mode) == 0o600 and config.stat().st_uid == 0
    text = config.read_text()
    assert "collectors = watch" in text and f"auth_token = {token}" in text
    # the unit is installed and enabled; the agent is installed in its venv and runs
    unit = root / "etc/systemd/system/stoker-agent.service"
    assert unit.read_text() == (REPO / "systemd/stoker-agent.service").read_text()
    assert (root / "etc/systemd/system/multi-user.target.wants/stoker-agent.service").is_symlink()
    checks = (root / "var/log/boot-checks.txt").read_text()
    assert "/usr/local/bin/stoker -> /opt/stoker/venv/bin/stoker" in checks, checks
    assert "usage: stoker agent" in checks and "enabled" in checks, checks
    # the agent came from its server's wheelhouse, every file hash-checked, never an index
    output = (root / "var/log/cloud-init-output.log").read_text()
    assert "Looking in links: http://127.0.0.1:" in output and "/wheelhouse/" in output, output
    assert "Looking in indexes" not in output and "pypi" not in output.lower(), output
    served = (work / "server.log").read_text()
    assert '"GET /wheelhouse/stoker-' in served and '"GET /wheelhouse/pip-' in served, served
    # the user's own cloud-config ran too
    assert (root / "var/tmp/user-ran").read_text() == "user-runcmd\n"
    assert (root / "etc/motd.d/user").read_text() == "the user's own file"
    # the token is in the config file only, not in cloud-init's log
    assert token not in (root / "var/log/cloud-init.log").read_text()

    # and the agent that boot installed deployed and signalled its server's deployment
    agent_log = (root / "var/log/agent-once.log").read_text()
    assert "agent-rc=0" in agent_log, agent_log
    deployment = report["deployment"]
    assert deployment["status"] == "COMPLETE", (deployment, agent_log)
    assert deployment["output_values"]["result"] == "ok"
    assert deployment["output_values"]["deploy_stdout"] == "hello from the guest\n"
    assert report["server"]["last_seen_time"]
