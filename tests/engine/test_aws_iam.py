"""AWS::IAM::User, AWS::IAM::AccessKey and OS::Heat::AccessPolicy: the key pair an AccessKey
gives is a stoker EC2 credential, valid while the key exists, and reaches the resources of its
own stack that its user's policies allow (Heat's stack user scoping)."""
from __future__ import annotations

import pytest

from engine_helpers import run
from metadata_server.engine.resources.aws_iam import access_allowed

pytestmark = pytest.mark.timeout(60)


def template(policies=None, extra=None):
    user = {"Type": "AWS::IAM::User"}
    if policies is not None:
        user["Properties"] = {"Policies": policies}
    return {"AWSTemplateFormatVersion": "2010-09-09", "Resources": {
        "web": {"Type": "OS::Heat::None", "Metadata": {"a": 1}},
        "db": {"Type": "OS::Heat::None"},
        "policy": {"Type": "OS::Heat::AccessPolicy",
                   "Properties": {"AllowedResources": ["web"]}},
        "user": user,
        "keys": {"Type": "AWS::IAM::AccessKey", "Properties": {"UserName": {"Ref": "user"}}},
        **(extra or {})},
        "Outputs": {"key": {"Value": {"Ref": "keys"}},
                    "secret": {"Value": {"Fn::GetAtt": ["keys", "SecretAccessKey"]}},
                    "user_name": {"Value": {"Fn::GetAtt": ["keys", "UserName"]}},
                    "user": {"Value": {"Ref": "user"}}}}


def create(engine, body):
    stack = run(engine, engine.create_stack("t1", body)["id"])
    assert stack["status"] == "COMPLETE", stack["status_reason"]
    return stack, {o["output_key"]: o["output_value"] for o in engine.outputs(stack)}


def test_access_key_is_a_credential_of_its_stack_until_deleted(engine, store):
    from metadata_server.service.clock import system_clock
    stack, outputs = create(engine, {"stack_name": "iam", "template": template()})
    key, secret = outputs["key"], outputs["secret"]
    assert len(key) == 20 and key.isalnum() and secret and secret != key
    assert outputs["user_name"] == outputs["user"] and outputs["user"].startswith("iam-user-")
    found = store.server_for_access_key(key, system_clock())
    assert found is not None and found[1] == secret
    principal = found[0]
    assert principal.tenant == "t1"
    rows = engine.resources(stack)
    # no policies: every resource of its own stack, nothing that is not in it
    assert access_allowed(rows, principal.id, "web") and access_allowed(rows, principal.id, "db")
    assert not access_allowed(rows, principal.id, "elsewhere")
    assert not access_allowed(rows, "another-server", "web")
    # the secret is in no event
    assert not any(secret in str(event) for event in engine.events(stack))

    engine.delete_stack("t1", stack["id"])
    assert run(engine, stack["id"])["status"] == "COMPLETE"
    assert store.server_for_access_key(key, system_clock()) is None


@pytest.mark.parametrize("policies,web,db", [
    ([{"Ref": "policy"}], True, False),      # the policy's Ref is its name, as Heat's
    (["policy"], True, False),
    ([{"Statement": []}], True, True),       # an inline policy is ignored, as in Heat
    (["nowhere"], False, False),             # a policy not in the stack allows nothing
])
def test_policies_scope_the_key(engine, policies, web, db):
    extra = {"other": {"Type": "OS::Heat::None"}} if policies == ["nowhere"] else None
    body = {"stack_name": "scoped", "template": template(policies, extra)}
    if policies == ["nowhere"]:
        body["template"]["Resources"]["user"]["DependsOn"] = "other"
    stack, outputs = create(engine, body)
    rows = engine.resources(stack)
    principal = next(r for r in rows if r["name"] == "keys")["data"]["principal"]
    assert access_allowed(rows, principal, "web") is web
    assert access_allowed(rows, principal, "db") is db


@pytest.mark.parametrize("resource,error", [
    ({"Type": "AWS::IAM::AccessKey", "Properties": {"UserName": "nobody"}},
     "could not find user nobody"),
    ({"Type": "AWS::IAM::AccessKey", "Properties": {"UserName": "x", "Status": "Inactive"}},
     "Property Status not implemented yet"),
    ({"Type": "AWS::IAM::User", "Properties": {"Path": "/a/"}},
     "Property Path not implemented yet"),
    ({"Type": "AWS::IAM::User", "Properties": {"LoginProfile": {"Password": "hunter2"}}},
     "LoginProfile is not supported by stoker"),
    ({"Type": "OS::Heat::AccessPolicy", "Properties": {"AllowedResources": ["ghost"]}},
     "AccessPolicy resource ghost not in stack"),
])
def test_refused(engine, resource, error):
    stack = run(engine, engine.create_stack("t1", {"stack_name": "bad", "template": {
        "AWSTemplateFormatVersion": "2010-09-09", "Resources": {"thing": resource}}})["id"])
    assert stack["status"] == "FAILED" and error in stack["status_reason"], stack["status_reason"]
    assert "hunter2" not in stack["status_reason"]
