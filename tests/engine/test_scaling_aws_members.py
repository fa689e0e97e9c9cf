"""The members of the AWS groups are AWS::EC2::Instance, as in Heat: made from the launch
configuration's properties, tagged for the group, and carrying the launch configuration's
Metadata, which each member reads with its own key through DescribeStackResource (what cfn-init
on a member does)."""
from __future__ import annotations

import pytest

from engine_helpers import ADMIN, run
from metadata_server.engine.drivers import LocalDriver
from metadata_server.engine.errors import StackValidationFailed
from metadata_server.engine.resources.scaling_aws import LaunchConfiguration
from stoker_common.ec2_signature import signed_query

pytestmark = pytest.mark.timeout(60)

INIT = {"config": {"files": {"/etc/web": {"content": {"Fn::Join": [
    " ", ["stack", {"Ref": "AWS::StackName"}]]}}}}}

TEMPLATE = {
    "AWSTemplateFormatVersion": "2010-09-09",
    "Resources": {
        "lc": {"Type": "AWS::AutoScaling::LaunchConfiguration",
               "Metadata": {"AWS::CloudFormation::Init": INIT, "role": "web"},
               "Properties": {"ImageId": "cirros", "InstanceType": "m1.tiny",
                              "KeyName": "ops", "UserData": "#!/bin/sh\n"}},
        "asg": {"Type": "AWS::AutoScaling::AutoScalingGroup",
                "Properties": {"MinSize": "2", "MaxSize": "3", "AvailabilityZones": ["nova"],
                               "LaunchConfigurationName": {"Ref": "lc"},
                               "Tags": [{"Key": "tier", "Value": "front"}]}},
        "fixed": {"Type": "OS::Heat::InstanceGroup",
                  "Properties": {"Size": "1", "LaunchConfigurationName": {"Ref": "lc"}}}},
    "Outputs": {"asg": {"Value": {"Fn::GetAtt": ["asg", "InstanceList"]}}}}


def _describe(client, clock, settings, stack_name, resource):
    query = signed_query(settings["access_key_id"], settings["secret_access_key"], "GET",
                         "http://localhost/v1/",
                         {"Action": "DescribeStackResource", "StackName": stack_name,
                          "LogicalResourceId": resource, "ContentType": "JSON"}, now=clock())
    return client.get("/v1/", query_string=query)


def test_members_are_instances_reading_the_launch_configuration_metadata(app):
    from metadata_server.api.common import ctx
    from metadata_server.api.app_engine import start_engine
    with app.test_request_context():
        engine = start_engine(app, ctx().endpoints(), driver=LocalDriver())
    client = app.test_client()
    created = client.post("/v1/t1/stacks", headers={"X-Auth-Token": ADMIN},
                          json={"stack_name": "web", "template": TEMPLATE})
    assert created.status_code == 201, created.json
    stack = run(engine, created.json["stack"]["id"])
    assert stack["status"] == "COMPLETE", stack["status_reason"]

    child = engine.find_resource(stack["id"], "asg")["physical_id"]
    nested = engine.get_stack("t1", child)
    members = [r for r in engine.resources(nested)]
    assert len(members) == 2
    expected = {"AWS::CloudFormation::Init": {"config": {"files": {"/etc/web": {
        "content": "stack web"}}}}, "role": "web"}
    clock = app.extensions["stoker"].clock
    for member in members:
        assert member["type"] == "AWS::EC2::Instance"
        row = engine.find_resource(child, member["name"])
        assert row["properties"]["ImageId"] == "cirros" and row["properties"]["KeyName"] == "ops"
        assert {"Key": "metering.AutoScalingGroupName", "Value": "asg"} in row["properties"]["Tags"]
        assert {"Key": "tier", "Value": "front"} in row["properties"]["Tags"]
        occ = engine.resource_attribute(nested, member["name"], "os_collect_config")["cfn"]
        assert (occ["stack_name"], occ["path"]) == (nested["name"], f"{member['name']}.Metadata")
        described = _describe(client, clock, occ, nested["name"], member["name"])
        assert described.status_code == 200, described.data
        detail = described.json["DescribeStackResourceResponse"][
            "DescribeStackResourceResult"]["StackResourceDetail"]
        assert detail["ResourceType"] == "AWS::EC2::Instance"
        assert {k: detail["Metadata"][k] for k in expected} == expected

    # one member's key does not read another member
    first, second = members
    occ = engine.resource_attribute(nested, first["name"], "os_collect_config")["cfn"]
    refused = _describe(client, clock, occ, nested["name"], second["name"])
    assert refused.status_code == 403 and b"AccessDenied" in refused.data

    fixed = engine.find_resource(stack["id"], "fixed")["physical_id"]
    tags = [r["properties"]["Tags"] for r in engine.resources(engine.get_stack("t1", fixed))]
    assert tags == [[{"Key": "metering.groupname", "Value": "fixed"}]]
    outputs = {o["output_key"]: o["output_value"] for o in engine.outputs(stack)}
    addresses = outputs["asg"].split(",")
    assert len(addresses) == 2 and all(a.count(".") == 3 for a in addresses)


@pytest.mark.parametrize("extra, message", [
    ({"KernelId": "k"}, "Property KernelId not implemented yet"),
    ({"BlockDeviceMappings": [{"DeviceName": "vdb"}]}, "BlockDeviceMappings is not supported"),
    ({"InstanceId": "i-1"}, "InstanceId is not supported"),
])
def test_launch_configuration_refuses_what_its_instances_would(extra, message):
    raw = {"ImageId": "cirros", "InstanceType": "m1.tiny", **extra}
    with pytest.raises(StackValidationFailed, match=message) as caught:
        LaunchConfiguration.validate_properties("lc", raw)
    assert str(caught.value.path).startswith(f"resources.lc.properties.{next(iter(extra))}")


def test_a_launch_configuration_stored_before_instances_keeps_making_servers():
    """A launch configuration an older stoker stored (server properties under `launch`) is not
    turned into instances behind the group's back: that would replace every member at the next
    resize. Its members stay servers until the configuration is replaced."""
    from metadata_server.engine.plugin_fakes import fake_context
    from metadata_server.engine.resources.scaling_aws import AwsAutoScalingGroup
    ctx = fake_context()
    ctx.finder.stacks["stack-1"] = {"id": "stack-1"}
    ctx.finder.rows["stack-1"] = {"lc": {
        "name": "lc", "type": "AWS::AutoScaling::LaunchConfiguration", "physical_id": "lc-x",
        "data": {"launch": {"image": "cirros", "flavor": "m1.tiny"}}}}
    properties = AwsAutoScalingGroup.validate_properties("asg", {
        "MinSize": 1, "MaxSize": 2, "AvailabilityZones": ["nova"],
        "LaunchConfigurationName": "lc-x"})
    group = AwsAutoScalingGroup("asg", ctx, properties)
    assert group.member_definition() == {"type": "OS::Nova::Server", "properties": {
        "image": "cirros", "flavor": "m1.tiny",
        "metadata": {"metering.AutoScalingGroupName": "asg"}}}

    ctx.finder.rows["stack-1"]["lc"].update(
        data={"instance": {"ImageId": "cirros", "InstanceType": "m1.tiny"}},
        metadata={"AWS::CloudFormation::Init": {"config": {}}})
    assert group.member_definition() == {"type": "AWS::EC2::Instance", "properties": {
        "ImageId": "cirros", "InstanceType": "m1.tiny",
        "Tags": [{"Key": "metering.AutoScalingGroupName", "Value": "asg"}]},
        "metadata": {"AWS::CloudFormation::Init": {"config": {}}}}


def test_instance_list_reads_each_member_by_its_own_kind():
    """Mid-way through rolling an older group's servers to instances, InstanceList reads an
    instance's PublicIp and a server's first_address, in the group's member order."""
    from metadata_server.engine.plugin_fakes import FakeChild, fake_context
    from metadata_server.engine.resources.scaling_aws import InstanceGroup
    ctx = fake_context()
    ctx.children.children["child"] = FakeChild({}, members={
        "old": {"first_address": "10.0.0.5"}, "new": {"PublicIp": "10.0.0.6"},
        "bare": {"PublicIp": None}})
    server = {"type": "OS::Nova::Server", "properties": {}}
    instance = {"type": "AWS::EC2::Instance", "properties": {}}
    group = InstanceGroup("grp", ctx, {"Size": 3}, physical_id="child", data={
        "members": ["old", "new", "bare"], "member": instance, "older": [server],
        "outdated": {"old": 0}})
    assert group.attribute("InstanceList") == "10.0.0.5,10.0.0.6,0.0.0.0"
