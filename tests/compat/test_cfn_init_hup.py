"""The real cfn-hup (heat-cfntools from PyPI; it runs once per invocation, as from cron) notices
that a stack update changed a resource's Metadata and runs its post.update hook, the usual
auto-reloader that re-runs cfn-init; with no change it runs nothing. It also restarts a service
the metadata says should run (a sysvinit one in the sandbox) and fires service.restarted.

cfn-hup reads /etc/cfn/cfn-hup.conf, its credential file (the /etc/cfn/cfn-credentials format)
and /etc/cfn/hooks.d: all of it is written into tests/cfntools.py's sandbox.
"""
from __future__ import annotations

import secrets
import subprocess

import pytest
import requests

from cli.processes import start_server
from tests.cfntools import (cfntools_bin, clean_env, point_at_server, recording_init_script,
                            sandbox)
from tests.waiting import stack_when

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]


def template(greeting: str) -> dict:
    init = {"config": {
        "files": {"/etc/stoker-hup/greeting": {"content": greeting},
                  "/etc/init.d/stoker-hup-svc": {"content": recording_init_script("stoker-hup-svc"),
                                                 "mode": "000755"}},
        "services": {"sysvinit": {"stoker-hup-svc": {"ensureRunning": "true"}}}}}
    return {
        "heat_template_version": "2018-08-31",
        "resources": {"server": {"type": "OS::Nova::Server",
                                 "metadata": {"AWS::CloudFormation::Init": init},
                                 "properties": {"flavor": "m1.small", "image": "any",
                                                "user_data_format": "SOFTWARE_CONFIG"}}},
        "outputs": {"cfn": {"value": {"get_attr": ["server", "os_collect_config", "cfn"]}}},
    }


def configure_cfn_hup(box, bin_dir, cfn: dict) -> None:
    etc = box.path("/etc/cfn")
    (etc / "hooks.d").mkdir(parents=True)
    credentials = etc / "cfn-credentials"
    credentials.write_text(f"AWSAccessKeyId={cfn['access_key_id']}\n"
                           f"AWSSecretKey={cfn['secret_access_key']}\n")
    credentials.chmod(0o600)
    (etc / "cfn-hup.conf").write_text(f"[main]\nstack={cfn['stack_name']}\n"
                                      "credential-file=/etc/cfn/cfn-credentials\nregion=nova\n"
                                      "interval=1\n")
    reapply = (f"{bin_dir / 'cfn-init'} -s {cfn['stack_name']} -r server "
               f"--access-key {cfn['access_key_id']} --secret-key {cfn['secret_access_key']}")
    (etc / "hooks.d" / "cfn-auto-reloader.conf").write_text(
        "[cfn-auto-reloader-hook]\ntriggers=post.update\n"
        "path=Resources.server.Metadata.AWS::CloudFormation::Init\n"
        f"action=mkdir -p /var/lib/stoker-hup && echo fired >> /var/lib/stoker-hup/fired && {reapply}\n"
        "runas=root\n\n"
        "[restarted-hook]\ntriggers=service.restarted\npath=Resources.server.Metadata\n"
        "action=mkdir -p /var/lib/stoker-hup && echo restarted >> /var/lib/stoker-hup/restarted\n"
        "runas=root\n")


def run(box, bin_dir, *argv: str) -> None:
    done = subprocess.run(box.argv(*argv), env=clean_env(bin_dir), capture_output=True,
                          text=True, timeout=180)
    logs = "".join(p.read_text() for p in box.path("/var/log").glob("cfn-*.log"))
    assert done.returncode == 0, done.stdout + done.stderr + logs


def test_cfn_hup_runs_its_hook_after_an_update_changes_the_metadata(tmp_path):
    bin_dir = cfntools_bin()
    box = sandbox(tmp_path / "sandbox", without_systemd=True)
    token = secrets.token_hex(16)
    server, base = start_server(tmp_path / "server", token, tmp_path / "server.log")
    session = requests.Session()
    session.headers["X-Auth-Token"] = token
    try:
        created = session.post(f"{base}/v1/t1/stacks", json={"stack_name": "hup",
                                                            "template": template("v1\n")}, timeout=10)
        assert created.status_code == 201, created.text
        url = created.headers["Location"]
        stack = stack_when(session, url, lambda s: s["stack_status"] != "CREATE_IN_PROGRESS")
        assert stack["stack_status"] == "CREATE_COMPLETE", stack["stack_status_reason"]
        [cfn] = [o["output_value"] for o in stack["outputs"] if o["output_key"] == "cfn"]
        point_at_server(box, base)
        configure_cfn_hup(box, bin_dir, cfn)
        greeting, fired = box.path("/etc/stoker-hup/greeting"), box.path("/var/lib/stoker-hup/fired")

        # boot: cfn-init applies the metadata and caches it; cfn-hup then sees no change
        run(box, bin_dir, str(bin_dir / "cfn-init"), "-s", "hup", "-r", "server",
            "--access-key", cfn["access_key_id"], "--secret-key", cfn["secret_access_key"])
        assert greeting.read_text() == "v1\n"
        run(box, bin_dir, str(bin_dir / "cfn-hup"), "--no-daemon", "--verbose")
        assert not fired.exists()

        updated = session.put(url, json={"template": template("v2\n")}, timeout=10)
        assert updated.status_code == 202, updated.text
        stack = stack_when(session, url, lambda s: s["stack_status"] != "UPDATE_IN_PROGRESS")
        assert stack["stack_status"] == "UPDATE_COMPLETE", stack["stack_status_reason"]

        # the changed metadata fires post.update: the hook re-ran cfn-init with the new content
        run(box, bin_dir, str(bin_dir / "cfn-hup"), "--no-daemon", "--verbose")
        assert fired.read_text() == "fired\n"
        assert greeting.read_text() == "v2\n"
        # and only once: the next run finds what it cached
        run(box, bin_dir, str(bin_dir / "cfn-hup"), "--no-daemon", "--verbose")
        assert fired.read_text() == "fired\n"

        # a service that should run and has stopped is started again, and service.restarted fires
        calls = box.path("/var/lib/stoker-hup-svc/calls")
        restarted = box.path("/var/lib/stoker-hup/restarted")
        assert not restarted.exists()
        box.path("/var/lib/stoker-hup-svc/running").unlink()
        before = calls.read_text().split()
        run(box, bin_dir, str(bin_dir / "cfn-hup"), "--no-daemon", "--verbose")
        assert calls.read_text().split()[len(before):] == ["status", "start"]
        assert restarted.read_text() == "restarted\n"
        assert fired.read_text() == "fired\n"
    finally:
        box.cleanup()
        assert server.stop() == 0
    assert "Traceback" not in server.log()
