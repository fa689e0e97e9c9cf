"""The classic CloudFormation pattern against a real `stoker server`: an AWS::EC2::Instance whose
Metadata carries AWS::CloudFormation::Init, and an AWS::IAM::AccessKey whose key pair the real
cfn-init (heat-cfntools from PyPI, in tests/cfntools.py's sandbox) is given with
`--access-key/--secret-key`. cfn-init reads the instance's metadata through DescribeStackResource
and applies it; the key cannot read a resource its user's policy leaves out."""
from __future__ import annotations

import secrets
import subprocess

import pytest
import requests

from cli.processes import start_server
from tests.cfntools import cfntools_bin, clean_env, point_at_server, sandbox
from tests.waiting import stack_when

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

INIT = {"config": {
    "files": {"/etc/stoker-aws/hello": {"content": {"Fn::Join": ["", ["stack ",
                                                                      {"Ref": "AWS::StackName"}]]},
                                        "mode": "000644"}},
    "commands": {"01_mark": {"command": "mkdir -p /var/lib/stoker-aws && echo ran > "
                                        "/var/lib/stoker-aws/mark"}}}}

TEMPLATE = {
    "AWSTemplateFormatVersion": "2010-09-09",
    "Resources": {
        "WebServer": {"Type": "AWS::EC2::Instance",
                      "Metadata": {"AWS::CloudFormation::Init": INIT},
                      "Properties": {"ImageId": "any", "InstanceType": "m1.small"}},
        "Secret": {"Type": "OS::Heat::None", "Metadata": {"AWS::CloudFormation::Init": INIT}},
        "ReadWebServer": {"Type": "OS::Heat::AccessPolicy",
                          "Properties": {"AllowedResources": ["WebServer"]}},
        "CfnUser": {"Type": "AWS::IAM::User",
                    "Properties": {"Policies": [{"Ref": "ReadWebServer"}]}},
        "HostKeys": {"Type": "AWS::IAM::AccessKey",
                     "Properties": {"UserName": {"Ref": "CfnUser"}}}},
    "Outputs": {"key": {"Value": {"Ref": "HostKeys"}},
                "secret": {"Value": {"Fn::GetAtt": ["HostKeys", "SecretAccessKey"]}}}}


@pytest.fixture
def box(tmp_path):
    found = sandbox(tmp_path / "sandbox")
    yield found
    found.cleanup()


def test_cfn_init_with_an_access_key_applies_the_instance_metadata(tmp_path, box):
    bin_dir = cfntools_bin()
    token = secrets.token_hex(16)
    server, base = start_server(tmp_path / "server", token, tmp_path / "server.log")
    session = requests.Session()
    session.headers["X-Auth-Token"] = token
    try:
        created = session.post(f"{base}/v1/t1/stacks", json={"stack_name": "wordpress",
                                                              "template": TEMPLATE}, timeout=10)
        assert created.status_code == 201, created.text
        url = created.headers["Location"]
        stack = stack_when(session, url, lambda s: s["stack_status"] != "CREATE_IN_PROGRESS")
        assert stack["stack_status"] == "CREATE_COMPLETE", stack["stack_status_reason"]
        outputs = {o["output_key"]: o["output_value"] for o in stack["outputs"]}
        point_at_server(box, base)

        def cfn_init(resource):
            return subprocess.run(box.argv(
                str(bin_dir / "cfn-init"), "-s", "wordpress", "-r", resource,
                "--access-key", outputs["key"], "--secret-key", outputs["secret"]),
                env=clean_env(bin_dir), capture_output=True, text=True, timeout=180)

        done = cfn_init("WebServer")
        log = box.path("/var/log/cfn-init.log").read_text()
        assert done.returncode == 0, done.stdout + done.stderr + log
        assert box.path("/etc/stoker-aws/hello").read_text() == "stack wordpress"
        assert box.path("/var/lib/stoker-aws/mark").read_text() == "ran\n"

        refused = cfn_init("Secret")
        assert refused.returncode != 0 and "AccessDenied" in refused.stdout + refused.stderr
        assert outputs["secret"] not in refused.stdout + refused.stderr

        session.delete(url, timeout=10)
        gone = stack_when(session, url, lambda s: s["stack_status"] != "DELETE_IN_PROGRESS")
        assert gone["stack_status"] == "DELETE_COMPLETE", gone["stack_status_reason"]
    finally:
        assert server.stop() == 0
    assert "Traceback" not in server.log()
    assert outputs["secret"] not in server.log()
