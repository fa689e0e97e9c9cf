"""cfn-init on a member of an AWS::AutoScaling::AutoScalingGroup against a real `stoker server`:
the member (an AWS::EC2::Instance) carries its launch configuration's AWS::CloudFormation::Init,
and the real cfn-init (heat-cfntools, tests/cfntools.py's sandbox), given the member's own key
pair and the member's stack and name as its collector settings name them, applies it."""
from __future__ import annotations

import subprocess

import pytest

from tests.cfntools import box, cfntools_bin, clean_env, point_at_server, real_stack  # noqa: F401

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

INIT = {"config": {"files": {"/etc/stoker-asg/hello": {
    "content": {"Fn::Join": ["", ["member of ", {"Ref": "AWS::StackName"}]]}, "mode": "000644"}}}}

TEMPLATE = {
    "AWSTemplateFormatVersion": "2010-09-09",
    "Resources": {
        "LaunchConfig": {"Type": "AWS::AutoScaling::LaunchConfiguration",
                         "Metadata": {"AWS::CloudFormation::Init": INIT},
                         "Properties": {"ImageId": "any", "InstanceType": "m1.small"}},
        "Group": {"Type": "AWS::AutoScaling::AutoScalingGroup",
                  "Properties": {"MinSize": "1", "MaxSize": "2", "AvailabilityZones": ["nova"],
                                 "LaunchConfigurationName": {"Ref": "LaunchConfig"}}}}}


def test_cfn_init_on_a_group_member_applies_the_launch_configuration_metadata(tmp_path, box):
    bin_dir = cfntools_bin()
    with real_stack(tmp_path, "fleet", TEMPLATE) as real:
        session, base = real.session, real.base
        group = session.get(f"{real.url}/resources/Group", timeout=10).json()["resource"]
        nested = session.get(f"{base}/v1/t1/stacks/{group['physical_resource_id']}",
                             timeout=10).json()["stack"]
        nested_url = f"{base}/v1/t1/stacks/{nested['stack_name']}/{nested['id']}"
        [member] = session.get(f"{nested_url}/resources", timeout=10).json()["resources"]
        assert member["resource_type"] == "AWS::EC2::Instance"
        shown = session.get(f"{nested_url}/resources/{member['resource_name']}"
                            "?with_attr=os_collect_config",
                            timeout=10).json()["resource"]
        cfn = shown["attributes"]["os_collect_config"]["cfn"]
        assert (cfn["stack_name"], cfn["path"]) == (nested["stack_name"],
                                                    f"{member['resource_name']}.Metadata")
        point_at_server(box, base)

        done = subprocess.run(box.argv(
            str(bin_dir / "cfn-init"), "-s", cfn["stack_name"], "-r", member["resource_name"],
            "--access-key", cfn["access_key_id"], "--secret-key", cfn["secret_access_key"]),
            env=clean_env(bin_dir), capture_output=True, text=True, timeout=180)
        log = box.path("/var/log/cfn-init.log").read_text()
        assert done.returncode == 0, done.stdout + done.stderr + log
        assert box.path("/etc/stoker-asg/hello").read_text() == "member of fleet"
