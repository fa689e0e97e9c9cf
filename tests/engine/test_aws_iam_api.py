"""An AccessKey's key pair through the CFN API: heat-api-cfn's EC2-signed resource signal
(POST /v1/signal/<arn>) reaches what the key's user may reach in its own stack, nothing else."""
from __future__ import annotations

from urllib.parse import quote

import pytest

from engine_helpers import ADMIN, run
from stoker_common.ec2_signature import signed_query

pytestmark = pytest.mark.timeout(60)

HANDLE = {"Type": "AWS::CloudFormation::WaitConditionHandle"}
TEMPLATE = {"AWSTemplateFormatVersion": "2010-09-09", "Resources": {
    "handle": HANDLE, "other": HANDLE,
    "policy": {"Type": "OS::Heat::AccessPolicy", "Properties": {"AllowedResources": ["handle"]}},
    "user": {"Type": "AWS::IAM::User", "Properties": {"Policies": [{"Ref": "policy"}]}},
    "keys": {"Type": "AWS::IAM::AccessKey", "Properties": {"UserName": {"Ref": "user"}}}},
    "Outputs": {"key": {"Value": {"Ref": "keys"}},
                "secret": {"Value": {"Fn::GetAtt": ["keys", "SecretAccessKey"]}}}}
SIGNAL = {"Status": "SUCCESS", "Reason": "configured", "UniqueId": "1", "Data": "done"}


def create(client, engine, name, template):
    created = client.post("/v1/t1/stacks", headers={"X-Auth-Token": ADMIN},
                          json={"stack_name": name, "template": template})
    assert created.status_code == 201, created.json
    stack = run(engine, created.json["stack"]["id"])
    assert stack["status"] == "COMPLETE", stack["status_reason"]
    return stack, {o["output_key"]: o["output_value"] for o in engine.outputs(stack)}


def post_signal(client, stack, resource, key, secret, body=SIGNAL):
    arn = f"arn:openstack:heat::t1:stacks/{stack['name']}/{stack['id']}/resources/{resource}"
    query = signed_query(key, secret, "POST", f"http://localhost/v1/signal/{arn}", {},
                         now=client.application.extensions["stoker"].clock())
    return client.post("/v1/signal/" + quote(arn), query_string=query, json=body)


def test_access_key_signals_what_its_policy_allows(app):
    client = app.test_client()
    client.get("/v1/t1/stacks", headers={"X-Auth-Token": ADMIN})  # makes the app's engine
    engine = app.extensions["stoker-engine"]
    stack, outputs = create(client, engine, "iam", TEMPLATE)
    other_stack, _ = create(client, engine, "elsewhere", {
        "AWSTemplateFormatVersion": "2010-09-09", "Resources": {"handle": HANDLE}})
    key, secret = outputs["key"], outputs["secret"]

    answer = post_signal(client, stack, "handle", key, secret)
    assert answer.status_code == 200, answer.data
    signals = engine.find_resource(stack["id"], "handle")["data"]["signals"]
    assert signals["1"]["status"] == "SUCCESS" and signals["1"]["data"] == "done"

    for target, resource in ((stack, "other"), (other_stack, "handle"), (stack, "ghost")):
        denied = post_signal(client, target, resource, key, secret)
        assert denied.status_code == 403 and b"AccessDenied" in denied.data, denied.data
    assert not engine.find_resource(stack["id"], "other")["data"].get("signals")

    forged = post_signal(client, stack, "handle", key, "not-the-secret")
    assert forged.status_code == 403 and b"SignatureDoesNotMatch" in forged.data, forged.data
    assert secret.encode() not in forged.data
    unsigned = client.post("/v1/signal/" + quote(f"arn:openstack:heat::t1:stacks/iam/"
                                                  f"{stack['id']}/resources/handle"), json=SIGNAL)
    assert unsigned.status_code == 400 and b"IncompleteSignature" in unsigned.data

    client.delete(f"/v1/t1/stacks/iam/{stack['id']}", headers={"X-Auth-Token": ADMIN})
    assert run(engine, stack["id"])["status"] == "COMPLETE"
    gone = post_signal(client, other_stack, "handle", key, secret)
    assert gone.status_code == 403 and b"InvalidClientTokenId" in gone.data


INIT = {"AWS::CloudFormation::Init": {"config": {"files": {"/tmp/x": {"content": "y"}}}}}
READER = {"AWSTemplateFormatVersion": "2010-09-09", "Resources": {
    "web": {"Type": "OS::Heat::None", "Metadata": INIT},
    "db": {"Type": "OS::Heat::None", "Metadata": {"secret": "no"}},
    "policy": {"Type": "OS::Heat::AccessPolicy", "Properties": {"AllowedResources": ["web"]}},
    "user": {"Type": "AWS::IAM::User", "Properties": {"Policies": [{"Ref": "policy"}]}},
    "keys": {"Type": "AWS::IAM::AccessKey", "Properties": {"UserName": {"Ref": "user"}}}},
    "Outputs": {"key": {"Value": {"Ref": "keys"}},
                "secret": {"Value": {"Fn::GetAtt": ["keys", "SecretAccessKey"]}}}}


def describe(client, stack_name, resource, key, secret):
    """DescribeStackResource as cfn-init's boto asks it (here with a version 2 signature)."""
    params = {"Action": "DescribeStackResource", "StackName": stack_name,
              "LogicalResourceId": resource, "ContentType": "JSON"}
    query = signed_query(key, secret, "GET", "http://localhost/v1/", params,
                         now=client.application.extensions["stoker"].clock())
    return client.get("/v1/", query_string=query)


def test_access_key_reads_the_metadata_its_policy_allows(app):
    client = app.test_client()
    client.get("/v1/t1/stacks", headers={"X-Auth-Token": ADMIN})  # makes the app's engine
    engine = app.extensions["stoker-engine"]
    stack, outputs = create(client, engine, "reader", READER)
    create(client, engine, "neighbour", {"AWSTemplateFormatVersion": "2010-09-09",
                                         "Resources": {"web": {"Type": "OS::Heat::None",
                                                               "Metadata": INIT}}})
    key, secret = outputs["key"], outputs["secret"]

    answer = describe(client, "reader", "web", key, secret)
    assert answer.status_code == 200, answer.data
    detail = answer.json["DescribeStackResourceResponse"]["DescribeStackResourceResult"][
        "StackResourceDetail"]
    assert detail["Metadata"] == INIT and detail["LogicalResourceId"] == "web"
    assert detail["StackName"] == "reader"
    arn = f"arn:openstack:heat::t1:stacks/reader/{stack['id']}"
    assert describe(client, arn, "web", key, secret).status_code == 200   # by ARN too

    denied = describe(client, "reader", "db", key, secret)
    assert denied.status_code == 403 and b"AccessDenied" in denied.data, denied.data
    assert b'"secret"' not in denied.data
    elsewhere = describe(client, "neighbour", "web", key, secret)
    assert elsewhere.status_code == 403 and b"AccessDenied" in elsewhere.data
