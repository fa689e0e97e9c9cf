"""The CloudFormation spellings of autoscaling: AWS::AutoScaling::LaunchConfiguration,
AWS::AutoScaling::AutoScalingGroup, AWS::AutoScaling::ScalingPolicy and OS::Heat::InstanceGroup.

They share scaling_group.py's members, order, cooldown and resize; what differs is the names, the
member (as in Heat, an AWS::EC2::Instance with the launch configuration's properties, the group's
Tags and the launch configuration's Metadata, so cfn-init on a member reads its own copy), the
`InstanceList` attribute and where the rolling update's batch size comes from (UpdatePolicy).
"""
from __future__ import annotations

from metadata_server.engine.errors import StackValidationFailed
from metadata_server.engine.resources.aws_instance import Instance
from metadata_server.engine.resources.base import Prop, Resource
from metadata_server.engine.resources.groups import _count
from metadata_server.engine.resources.scaling_capacity import ADJUSTMENT_TYPES, PERCENT
from metadata_server.engine.resources.scaling_group import AutoScalingGroup
from metadata_server.engine.resources.scaling_policy import ScalingPolicy
from metadata_server.engine.resources.scaling_rolling import pause_seconds



class LaunchConfiguration(Resource):
    type_name = "AWS::AutoScaling::LaunchConfiguration"
    properties_schema = {"ImageId": Prop("string", required=True),
                         "InstanceType": Prop("string", required=True),
                         "KeyName": Prop("string"), "UserData": Prop("string"),
                         "SecurityGroups": Prop("list"), "KernelId": Prop("string"),
                         "RamDiskId": Prop("string"), "BlockDeviceMappings": Prop("list"),
                         "NovaSchedulerHints": Prop("list"), "InstanceId": Prop("string")}

    @classmethod
    def check(cls, name, properties):
        if properties["InstanceId"] is not None:
            raise StackValidationFailed("InstanceId is not supported by stoker yet: give ImageId "
                                        "and InstanceType",
                                        f"resources.{name}.properties.InstanceId")
        # the members are instances: what an instance refuses is refused here, where it is written
        Instance.check(name, properties)

    def handle_create(self, token):
        # Heat: the reference is the physical name; every change makes a new configuration
        self.physical_id = self.physical_name()
        self.data["instance"] = {k: v for k, v in self.properties.items()
                                 if k != "InstanceId" and v not in (None, "", [])}


class InstanceGroup(AutoScalingGroup):
    """OS::Heat::InstanceGroup: a fixed `Size`; policies do not scale it (as in Heat)."""
    type_name = "OS::Heat::InstanceGroup"
    properties_schema = {"Size": Prop("integer", required=True, update_allowed=True),
                         "LaunchConfigurationName": Prop("string", required=True,
                                                         update_allowed=True),
                         "AvailabilityZones": Prop("list", default=[]),
                         "LoadBalancerNames": Prop("list", default=[]),
                         "Tags": Prop("list", default=[])}
    attributes_schema = ("InstanceList",)
    update_policy_key = "RollingUpdate"
    tag_key = "metering.groupname"
    adjust = None

    @classmethod
    def check(cls, name, properties):
        low, high, desired, _ = cls.sizes(properties)
        path = f"resources.{name}.properties"
        if low < 0:
            raise StackValidationFailed(f"{low} is out of range (min: 0)", f"{path}.MinSize")
        if high < low:
            raise StackValidationFailed("MinSize can not be greater than MaxSize", path)
        if desired is not None and not low <= desired <= high:
            raise StackValidationFailed("DesiredCapacity must be between MinSize and MaxSize",
                                        f"{path}.DesiredCapacity")
        for tag in properties.get("Tags") or []:
            if not isinstance(tag, dict) or set(tag) != {"Key", "Value"}:
                raise StackValidationFailed("each tag must be {Key: ..., Value: ...}",
                                            f"{path}.Tags")

    @staticmethod
    def sizes(properties):
        size = properties["Size"]
        return size, size, size, None

    @classmethod
    def member_count(cls, properties):
        size = _count(properties.get("MaxSize", properties.get("Size")))
        return None if size is None else (size, {"type": Instance.type_name, "properties": {}})

    def member_definition(self):
        reference = self.properties["LaunchConfigurationName"]
        row = self.ctx.finder.find_resource(self.ctx.stack_id, reference)
        if row is None or row.get("type") != LaunchConfiguration.type_name:
            raise StackValidationFailed(
                f"{reference} is not a launch configuration of this stack",
                f"resources.{self.name}.properties.LaunchConfigurationName")
        data = row.get("data") or {}
        tags = list(self.properties.get("Tags") or [])
        # the group's name, not its reference: that is known only once the members exist
        tags.append({"Key": self.tag_key, "Value": self.name})
        if "instance" not in data:
            # a launch configuration stored before members were instances: its servers stay
            # servers until the configuration is replaced (then they roll to instances)
            server = dict(data.get("launch") or {}, metadata={t["Key"]: t["Value"] for t in tags})
            return {"type": "OS::Nova::Server", "properties": server}
        member = {"type": Instance.type_name, "properties": dict(data["instance"], Tags=tags)}
        finder = self.ctx.finder
        metadata = finder.resource_metadata(finder.get_stack(self.ctx.tenant, self.ctx.stack_id),
                                            row["name"])
        if metadata:
            member["metadata"] = metadata   # Heat copies it onto every member
        return member

    max_pause = 3600.0  # Heat: "Maximum PauseTime is 1 hour." (InstanceGroup)

    def rolling_policy(self):
        """The UpdatePolicy's (MinInstancesInService, MaxBatchSize, PauseTime in seconds)."""
        policy = (self.definition.update_policy if self.definition is not None else None) or {}
        rolling = (policy.get(self.update_policy_key) if isinstance(policy, dict) else None) or {}
        path = f"resources.{self.name}.update_policy.{self.update_policy_key}"
        values = []
        for key, default, low in (("MinInstancesInService", 0, 0), ("MaxBatchSize", 1, 1)):
            value = _count(rolling.get(key, default))
            if value is None or value < low:
                raise StackValidationFailed(f"{rolling.get(key)!r} is out of range (min: {low})",
                                            f"{path}.{key}")
            values.append(value)
        try:
            pause = pause_seconds(rolling.get("PauseTime", "PT0S"))
        except ValueError as exc:
            raise StackValidationFailed(str(exc), f"{path}.PauseTime") from None
        if self.max_pause is not None and pause > self.max_pause:
            raise StackValidationFailed("Maximum PauseTime is 1 hour.", f"{path}.PauseTime")
        return values[0], values[1], pause

    def member_changed(self, changed):
        return "LaunchConfigurationName" in changed

    def attribute(self, name):
        if name == "InstanceList":
            if not self.physical_id or not self.data.get("members"):
                return None
            applied = self._applied() or {}

            def address(member: str):
                # a member made by an older stoker is a server, whose address is first_address
                legacy = (applied.get(member) or {}).get("type") == "OS::Nova::Server"
                return self._member_attr(member, "first_address" if legacy else "PublicIp")
            return ",".join(str(address(n) or "0.0.0.0") for n in self._ordered())
        return super().attribute(name)


class AwsAutoScalingGroup(InstanceGroup):
    type_name = "AWS::AutoScaling::AutoScalingGroup"
    properties_schema = {"MinSize": Prop("integer", required=True, update_allowed=True),
                         "MaxSize": Prop("integer", required=True, update_allowed=True),
                         "DesiredCapacity": Prop("integer", update_allowed=True),
                         "Cooldown": Prop("integer", update_allowed=True),
                         "LaunchConfigurationName": Prop("string", update_allowed=True),
                         "InstanceId": Prop("string"),
                         "AvailabilityZones": Prop("list", required=True),
                         "LoadBalancerNames": Prop("list", default=[]),
                         "VPCZoneIdentifier": Prop("list", default=[]),
                         "HealthCheckType": Prop("string", allowed=("EC2", "ELB")),
                         "HealthCheckGracePeriod": Prop("integer"),
                         "Tags": Prop("list", default=[])}
    update_policy_key = "AutoScalingRollingUpdate"
    tag_key = "metering.AutoScalingGroupName"
    max_pause = None
    adjust = AutoScalingGroup.adjust

    @classmethod
    def check(cls, name, properties):
        super().check(name, properties)
        path = f"resources.{name}.properties"
        if properties["InstanceId"] is not None:
            raise StackValidationFailed("InstanceId is not supported by stoker yet: give a "
                                        "LaunchConfigurationName", f"{path}.InstanceId")
        if properties["LaunchConfigurationName"] is None:
            raise StackValidationFailed("Either 'InstanceId' or 'LaunchConfigurationName' "
                                        "must be provided.", path)
        if len(properties["VPCZoneIdentifier"]) > 1:
            raise StackValidationFailed("Only one VPCZoneIdentifier is supported",
                                        f"{path}.VPCZoneIdentifier")

    @staticmethod
    def sizes(properties):
        return (properties["MinSize"], properties["MaxSize"], properties["DesiredCapacity"],
                properties["Cooldown"])


class AwsScalingPolicy(ScalingPolicy):
    type_name = "AWS::AutoScaling::ScalingPolicy"
    properties_schema = {
        "AutoScalingGroupName": Prop("string", required=True),
        "ScalingAdjustment": Prop("integer", required=True, update_allowed=True),
        "AdjustmentType": Prop("string", required=True, update_allowed=True,
                               allowed=tuple(k for k in ADJUSTMENT_TYPES if k[0].isupper())),
        "Cooldown": Prop("integer", update_allowed=True),
        "MinAdjustmentStep": Prop("integer", update_allowed=True),
    }
    attributes_schema = ("AlarmUrl",)

    @classmethod
    def check(cls, name, properties):
        step = properties["MinAdjustmentStep"]
        path = f"resources.{name}.properties.MinAdjustmentStep"
        if step is not None and step < 0:
            raise StackValidationFailed(f"{step} is out of range (min: 0)", path)
        if step is not None and ADJUSTMENT_TYPES[properties["AdjustmentType"]] != PERCENT:
            raise StackValidationFailed("MinAdjustmentStep property should only be specified "
                                        "for AdjustmentType with value "
                                        "PercentChangeInCapacity.", path)

    def rule(self):
        props = self.properties
        return (props["AutoScalingGroupName"], props["ScalingAdjustment"],
                props["AdjustmentType"], props["MinAdjustmentStep"], props["Cooldown"])

    def reference_id(self):
        # Heat: the policy's Ref is its alarm URL (its name before it exists)
        return self.attribute("alarm_url") or self.name

    def attribute(self, name):
        return super().attribute("alarm_url" if name == "AlarmUrl" else name)


TYPES = (LaunchConfiguration, InstanceGroup, AwsAutoScalingGroup, AwsScalingPolicy)
