"""The cfn-init hook with the real cfn-init (heat-cfntools from PyPI), through the real runner.

The agent's root is tests/cfntools.py's sandbox: cfn-init ($HEAT_CFN_INIT_CMD, a wrapper that
enters the sandbox) sees the root's etc/ and var/ as /etc and /var, so it finds the metadata the
hook wrote under the root, and what it writes and logs lands there too.
"""
from __future__ import annotations

import os

import pytest

from agent.paths import Paths
from agent.runner import DeploymentRunner
from tests.cfntools import cfntools_bin, clean_env, sandbox

pytestmark = pytest.mark.timeout(300)


@pytest.fixture
def deploy(tmp_path, hook_env, outbox, transport, item_factory):
    bin_dir = cfntools_bin()
    box = sandbox(tmp_path / "root")
    cfn_init = box.wrapper(tmp_path / "cfn-init-in-sandbox", bin_dir / "cfn-init")
    env = dict(clean_env(bin_dir), HEAT_CFN_INIT_CMD=str(cfn_init),
               PATH=f"{bin_dir}{os.pathsep}{hook_env.get('PATH', '')}")

    def run(config) -> dict:
        runner = DeploymentRunner(Paths.under(str(box.root), env=env), outbox, env=env)
        [report] = runner.run([item_factory(ident="dep-1", group="cfn-init", config=config)])
        assert report.outcome == "deployed"
        [payload] = transport.payloads("dep-1")
        return payload

    yield box, run
    box.cleanup()


def test_the_hook_applies_init_metadata_with_the_real_cfn_init(deploy):
    box, run = deploy
    payload = run({"config": {
        "files": {"/etc/stoker-hook/app.conf": {"content": "answer=42\n", "mode": "000600"}},
        "commands": {"01_mark": {"command": "mkdir -p /var/lib/stoker-hook && "
                                            "cat /etc/stoker-hook/app.conf > /var/lib/stoker-hook/seen"}},
    }})
    assert payload["deploy_status_code"] == 0, payload
    conf = box.path("/etc/stoker-hook/app.conf")
    assert conf.read_text() == "answer=42\n" and oct(conf.stat().st_mode & 0o777) == "0o600"
    assert box.path("/var/lib/stoker-hook/seen").read_text() == "answer=42\n"
    assert "Running command" in box.path("/var/log/cfn-init.log").read_text()


def test_a_failing_command_is_a_failed_deployment_that_says_why(deploy):
    box, run = deploy
    payload = run('{"config": {"commands": {"01_fail": {"command": "exit 4"}}}}')
    assert payload["deploy_status_code"] == 1
    assert "exited 1; what it logged to" in payload["deploy_stderr"]
    assert "01_fail has failed" in payload["deploy_stderr"], payload["deploy_stderr"]
