"""A SoftwareConfig of group cfn-init, end to end: a real `stoker server` whose local driver runs a
real `stoker agent` for the Nova server; the agent's built-in cfn-init hook runs the real cfn-init
(heat-cfntools from PyPI, in tests/cfntools.py's sandbox) and its result completes or fails the
SoftwareDeployment, and with it the stack.

The server's environment reaches the agent and its hooks: HEAT_CFN_INIT_CMD points at a wrapper
that enters the sandbox, HEAT_CFN_INIT_LAST_METADATA_DIR at the sandbox's
/var/cache/heat-cfntools, where cfn-init reads the metadata the hook writes.
"""
from __future__ import annotations

import secrets

import pytest
import requests

from cli.processes import start_server
from tests.cfntools import cfntools_bin, sandbox
from tests.waiting import stack_when

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]


def template(commands: dict) -> dict:
    return {
        "heat_template_version": "2018-08-31",
        "resources": {
            "server": {"type": "OS::Nova::Server",
                       "properties": {"flavor": "m1.small", "image": "any",
                                      "user_data_format": "SOFTWARE_CONFIG"}},
            "config": {"type": "OS::Heat::StructuredConfig", "properties": {
                "group": "cfn-init",
                "config": {"config": {
                    "files": {"/etc/stoker-group/app.conf": {"content": "mode=group\n"}},
                    "commands": commands}}}},
            "deployment": {"type": "OS::Heat::StructuredDeployment", "properties": {
                "config": {"get_resource": "config"}, "server": {"get_resource": "server"}}},
        },
        "outputs": {"stderr": {"value": {"get_attr": ["deployment", "deploy_stderr"]}}},
    }


@pytest.fixture
def run_stack(tmp_path, monkeypatch):
    bin_dir = cfntools_bin()
    box = sandbox(tmp_path / "sandbox")
    monkeypatch.setenv("HEAT_CFN_INIT_CMD",
                       str(box.wrapper(tmp_path / "cfn-init-in-sandbox", bin_dir / "cfn-init")))
    monkeypatch.setenv("HEAT_CFN_INIT_LAST_METADATA_DIR", str(box.path("/var/cache/heat-cfntools")))
    token = secrets.token_hex(16)
    server, base = start_server(tmp_path / "server", token, tmp_path / "server.log")
    session = requests.Session()
    session.headers["X-Auth-Token"] = token

    def run(commands: dict) -> dict:
        created = session.post(f"{base}/v1/t1/stacks", json={"stack_name": "group",
                                                            "template": template(commands)},
                               timeout=10)
        assert created.status_code == 201, created.text
        return stack_when(session, created.headers["Location"],
                          lambda s: s["stack_status"] != "CREATE_IN_PROGRESS", timeout=120)
    try:
        yield box, run
    finally:
        box.cleanup()
        assert server.stop() == 0
    assert "Traceback" not in server.log()


def test_a_cfn_init_deployment_applies_its_config_through_the_agent(run_stack):
    box, run = run_stack
    stack = run({"01_mark": {"command": "mkdir -p /var/lib/stoker-group && "
                                        "cp /etc/stoker-group/app.conf /var/lib/stoker-group/"}})
    assert stack["stack_status"] == "CREATE_COMPLETE", stack["stack_status_reason"]
    assert box.path("/etc/stoker-group/app.conf").read_text() == "mode=group\n"
    assert box.path("/var/lib/stoker-group/app.conf").read_text() == "mode=group\n"


def test_a_failing_cfn_init_fails_the_deployment_and_the_stack(run_stack):
    _box, run = run_stack
    stack = run({"01_fail": {"command": "exit 9"}})
    assert stack["stack_status"] == "CREATE_FAILED"
    assert stack["stack_status_reason"].endswith(
        "resources.deployment: Deployment to server failed: deploy_status_code : Deployment "
        "exited with non-zero status code: 1"), stack["stack_status_reason"]
    [stderr] = [o.get("output_value") for o in stack["outputs"] if o["output_key"] == "stderr"]
    assert "cfn-init-in-sandbox exited 1" in stderr
