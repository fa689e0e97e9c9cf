"""The CloudFormation spellings of autoscaling through the API: a launch configuration's instances,
an AWS group scaled by an AWS policy's AlarmUrl (which is also its Ref), and an InstanceGroup."""
from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from engine_helpers import ADMIN, hot
from tests.waiting import until
from restart_helpers import clock, engines  # noqa: F401,E402

pytestmark = pytest.mark.timeout(60)

RESOURCES = {
    "lc": {"type": "AWS::AutoScaling::LaunchConfiguration", "properties": {
        "ImageId": "cirros", "InstanceType": "m1.tiny", "UserData": "#!/bin/sh\n"}},
    "asg": {"type": "AWS::AutoScaling::AutoScalingGroup", "properties": {
        "MinSize": "1", "MaxSize": "2", "AvailabilityZones": ["nova"],
        "LaunchConfigurationName": {"get_resource": "lc"},
        "Tags": [{"Key": "role", "Value": "web"}]}},
    "up": {"type": "AWS::AutoScaling::ScalingPolicy", "properties": {
        "AutoScalingGroupName": {"get_resource": "asg"}, "ScalingAdjustment": 1,
        "AdjustmentType": "ChangeInCapacity"}},
    "fixed": {"type": "OS::Heat::InstanceGroup", "properties": {
        "Size": 2, "LaunchConfigurationName": {"get_resource": "lc"}}},
    "nope": {"type": "AWS::AutoScaling::ScalingPolicy", "properties": {
        "AutoScalingGroupName": {"get_resource": "fixed"}, "ScalingAdjustment": 1,
        "AdjustmentType": "ChangeInCapacity"}},
}
OUTPUTS = {"url": {"value": {"get_attr": ["up", "AlarmUrl"]}},
           "ref": {"value": {"get_resource": "up"}},
           "nope": {"value": {"get_attr": ["nope", "AlarmUrl"]}},
           "asg": {"value": {"get_attr": ["asg", "InstanceList"]}},
           "fixed": {"value": {"get_attr": ["fixed", "InstanceList"]}}}


def test_aws_group_scales_by_its_policy_and_instance_group_does_not(app):
    client = app.test_client()
    client.environ_base["HTTP_X_AUTH_TOKEN"] = ADMIN
    created = client.post("/v1/t1/stacks", json={"stack_name": "aws",
                                                 "template": hot(RESOURCES, OUTPUTS)})
    assert created.status_code == 201, created.json
    stack_id = created.json["stack"]["id"]
    app.extensions["stoker-engine"].wait(stack_id, 30)
    base = f"/v1/t1/stacks/aws/{stack_id}"

    def outputs():
        stack = client.get(base).json["stack"]
        assert stack["stack_status"] == "CREATE_COMPLETE", stack["stack_status_reason"]
        return {o["output_key"]: o.get("output_value") for o in stack["outputs"]}
    first = outputs()
    assert first["url"] == first["ref"] and "/resources/up/signal?sig=" in first["url"]
    assert len(first["asg"].split(",")) == 1 and len(first["fixed"].split(",")) == 2

    members = client.get(f"{base}/resources/asg").json["resource"]["physical_resource_id"]
    nested = urlsplit(client.get(f"/v1/t1/stacks/{members}").headers["Location"]).path
    servers = client.get(f"{nested}/resources").json
    assert [r["resource_type"] for r in servers["resources"]] == ["AWS::EC2::Instance"]

    def group_signals(count):
        def found():
            events = client.get(f"{base}/resources/asg/events").json["events"]
            reasons = [e["resource_status_reason"] for e in events
                       if e["resource_status"] == "SIGNAL_COMPLETE"]
            return reasons if len(reasons) >= count else None
        return until(found, 30, f"{count} signal events of the group")

    anonymous = app.test_client()
    url = urlsplit(first["url"])
    for count in (1, 2):  # the second one: no change at MaxSize 2
        assert anonymous.post(f"{url.path}?{url.query}", json={}).status_code == 200
        reasons = group_signals(count)
    assert len(outputs()["asg"].split(",")) == 2
    nope = urlsplit(first["nope"])
    refused = anonymous.post(f"{nope.path}?{nope.query}", json={})
    assert refused.status_code == 400 and "not a group that policies scale" in refused.text
    assert len(outputs()["fixed"].split(",")) == 2

    assert reasons == [
        "Scaled from 1 to 2 (policy up, ChangeInCapacity : 1)",
        "Scaling refused (policy up): no change in size (2)"]


@pytest.mark.parametrize("extra, message", [
    ({"MinSize": 3}, "MinSize can not be greater than MaxSize"),
    ({"DesiredCapacity": 5}, "DesiredCapacity must be between MinSize and MaxSize"),
    ({"LaunchConfigurationName": None}, "Either 'InstanceId' or 'LaunchConfigurationName'"),
    ({"InstanceId": "i-1"}, "InstanceId is not supported"),
    ({"Tags": [{"Key": "k"}]}, "each tag must be"),
])
def test_aws_group_validation(extra, message):
    from metadata_server.engine.errors import StackValidationFailed
    from metadata_server.engine.resources.scaling_aws import AwsAutoScalingGroup
    raw = {"MinSize": 1, "MaxSize": 2, "AvailabilityZones": ["nova"],
           "LaunchConfigurationName": "lc-x", **extra}
    with pytest.raises(StackValidationFailed, match=message):
        AwsAutoScalingGroup.validate_properties("asg", raw)


def test_aws_policy_min_step_only_with_percent():
    from metadata_server.engine.errors import StackValidationFailed
    from metadata_server.engine.resources.scaling_aws import AwsScalingPolicy
    base = {"AutoScalingGroupName": "g", "ScalingAdjustment": 10, "MinAdjustmentStep": 2}
    AwsScalingPolicy.validate_properties("p", dict(base, AdjustmentType="PercentChangeInCapacity"))
    with pytest.raises(StackValidationFailed, match="only be specified"):
        AwsScalingPolicy.validate_properties("p", dict(base, AdjustmentType="ExactCapacity"))


@pytest.mark.parametrize("kind, policy, expected", [
    ("OS::Heat::InstanceGroup", None, (0, 1, 0.0)),
    ("OS::Heat::InstanceGroup", {"RollingUpdate": {"MinInstancesInService": "2",
                                                   "MaxBatchSize": 3, "PauseTime": "PT1M"}},
     (2, 3, 60.0)),
    ("AWS::AutoScaling::AutoScalingGroup", {"AutoScalingRollingUpdate": {
        "MaxBatchSize": 2, "PauseTime": "PT2H"}}, (0, 2, 7200.0)),
    ("OS::Heat::InstanceGroup", {"RollingUpdate": {"PauseTime": "PT1H1S"}},
     "Maximum PauseTime is 1 hour."),
    ("OS::Heat::InstanceGroup", {"RollingUpdate": {"MaxBatchSize": 0}}, "out of range"),
    ("AWS::AutoScaling::AutoScalingGroup", {"AutoScalingRollingUpdate": {
        "PauseTime": "soon"}}, "not a duration"),
])
def test_update_policy_of_the_aws_groups(kind, policy, expected):
    """UpdatePolicy's MinInstancesInService, MaxBatchSize and PauseTime (ISO 8601) drive the
    same rolling update as rolling_updates; errors name the policy's key."""
    from types import SimpleNamespace

    from metadata_server.engine.errors import StackValidationFailed
    from metadata_server.engine.plugin_fakes import fake_context
    from metadata_server.engine.resources import scaling_aws
    cls = {c.type_name: c for c in scaling_aws.TYPES}[kind]
    group = cls("grp", fake_context(), {}, definition=SimpleNamespace(update_policy=policy))
    if isinstance(expected, tuple):
        assert group.rolling_policy() == expected
    else:
        with pytest.raises(StackValidationFailed, match=expected) as caught:
            group.rolling_policy()
        assert f"resources.grp.update_policy.{cls.update_policy_key}." in str(caught.value.path)


def test_a_replaced_launch_configuration_rolls_through_the_members(engines):
    """The launch configuration is replaced (a new ImageId), so the group's
    LaunchConfigurationName names a new one: the members, rolled one at a time with both in
    service, are made from the new one."""
    from engine_helpers import run

    def template(image):
        return {"heat_template_version": "2018-08-31", "resources": {
            "lc": {"type": "AWS::AutoScaling::LaunchConfiguration", "properties": {
                "ImageId": image, "InstanceType": "m1.tiny"}},
            "asg": {"type": "AWS::AutoScaling::AutoScalingGroup",
                    "update_policy": {"AutoScalingRollingUpdate": {
                        "MinInstancesInService": 2, "MaxBatchSize": 1}},
                    "properties": {"MinSize": 2, "MaxSize": 3, "AvailabilityZones": ["nova"],
                                   "LaunchConfigurationName": {"get_resource": "lc"}}}}}
    engine = engines()
    stack = engine.create_stack("t1", {"stack_name": "aws", "template": template("cirros")})
    assert run(engine, stack["id"])["status"] == "COMPLETE"

    def servers():
        child = engine.find_resource(stack["id"], "asg")["physical_id"]
        return {r["name"]: r["properties"]["ImageId"] for r in engine.stacks.resources(child)
                if not r.get("replaced_by") and r["action"] != "DELETE"}
    before = servers()
    engine.update_stack("t1", stack["id"], {"template": template("fedora")})
    row = run(engine, stack["id"])
    assert (row["action"], row["status"]) == ("UPDATE", "COMPLETE"), row["status_reason"]
    after = servers()
    assert len(after) == 2 and set(after.values()) == {"fedora"}
    assert len(set(after) & set(before)) == 1  # Heat's plan: (3, 1), (3, 1), (2, 0)
