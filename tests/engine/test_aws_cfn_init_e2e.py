"""The classic CloudFormation pattern against a real `stoker server`: an AWS::EC2::Instance whose
Metadata carries AWS::CloudFormation::Init, and an AWS::IAM::AccessKey whose key pair the real
cfn-init (heat-cfntools from PyPI, in tests/cfntools.py's sandbox) is given with
`--access-key/--secret-key`. cfn-init reads the instance's metadata through DescribeStackResource
and applies it; the key cannot read a resource its user's policy leaves out."""
from __future__ import annotations

import subprocess

import pytest

from tests.cfntools import box, cfntools_bin, clean_env, point_at_server, real_stack  # noqa: F401

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


def test_cfn_init_with_an_access_key_applies_the_instance_metadata(tmp_path, box):
    bin_dir = cfntools_bin()
    with real_stack(tmp_path, "wordpress", TEMPLATE) as real:
        outputs = {o["output_key"]: o["output_value"] for o in real.stack["outputs"]}
        point_at_server(box, real.base)

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
    assert outputs["secret"] not in real.server.log()
