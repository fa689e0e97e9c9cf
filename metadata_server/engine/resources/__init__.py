"""Every resource type the engine knows, registered by name in this one place."""
from __future__ import annotations

from metadata_server.engine.errors import StackValidationFailed
from metadata_server.engine.resources import (aodh, aws_ec2, aws_iam, aws_instance, aws_stack,
                                              cfn_wait_condition, cloud, core, groups, nested,
                                              scaling_aws, scaling_group, scaling_policy, servers,
                                              software_component, software_config, software_deployment,
                                              wait_condition)
from metadata_server.engine.resources.base import Prop, Resource

REGISTRY: dict[str, type[Resource]] = {}


def register(cls: type[Resource], *aliases: str) -> None:
    for name in (cls.type_name, *aliases):
        REGISTRY[name] = cls


for _cls in (core.Value, core.NoneResource, core.TestResource, core.RandomString,
             software_config.SoftwareConfig, software_config.StructuredConfig,
             software_config.MultipartMime, software_config.CloudConfig,
             software_component.SoftwareComponent,
             software_deployment.SoftwareDeployment, software_deployment.StructuredDeployment,
             servers.DeployedServer, servers.Server, servers.KeyPair,
             groups.ResourceGroup, groups.SoftwareDeploymentGroup,
             groups.StructuredDeploymentGroup,
             scaling_group.AutoScalingGroup, scaling_policy.ScalingPolicy, *scaling_aws.TYPES,
             wait_condition.WaitConditionHandle, wait_condition.WaitCondition,
             cfn_wait_condition.CfnWaitConditionHandle, cfn_wait_condition.CfnWaitCondition,
             *cloud.TYPES, aws_instance.Instance, aws_stack.CloudFormationStack,
             *aws_ec2.TYPES, *aws_iam.TYPES, *aodh.TYPES):
    register(_cls)
register(groups.SoftwareDeploymentGroup, "OS::Heat::SoftwareDeployments")
register(groups.StructuredDeploymentGroup, "OS::Heat::StructuredDeployments")


def resource_class(type_name: str, provider_template: str | None = None,
                   path: str = "") -> type[Resource]:
    if provider_template:
        return nested.TemplateResource
    try:
        return REGISTRY[type_name]
    except KeyError:
        raise StackValidationFailed(
            f"The Resource Type ({type_name}) could not be found.", path or None) from None


__all__ = ["REGISTRY", "Prop", "Resource", "register", "resource_class"]
