"""DescribeStackResource of a stack's resource, as heat-cfntools' cfn-init and cfn-hup ask for it:
signed with signature v4 (boto) or v2 (os-collect-config) by the server's key pair, StackName as a
name, an id or an ARN, and the answer the resource's Metadata merged with the server's document.
A server's key reads only its own resource; another project's stack is never found."""
from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import timedelta
from urllib.parse import urlencode

import pytest

from metadata_server.service import sigv4
from stoker_common.ec2_signature import signed_query
from tests.server.conftest import ADMIN

pytestmark = pytest.mark.timeout(120)
HOST = "stoker.test"
INIT = {"config": {"files": {"/etc/motd": {"content": {"get_param": "motd"}}}}}
TEMPLATE = {
    "heat_template_version": "2018-08-31",
    "parameters": {"motd": {"type": "string", "default": "hello"}},
    "resources": {
        "server": {"type": "OS::Heat::DeployedServer",
                   "metadata": {"AWS::CloudFormation::Init": INIT, "role": "web"}},
        "other": {"type": "OS::Heat::None", "metadata": {"secret": "not the server's"}},
    },
    "outputs": {"cfn": {"value": {"get_attr": ["server", "os_collect_config", "cfn"]}}},
}


def stack_in(app, tenant: str, name: str) -> tuple[dict, dict]:
    client = app.test_client()
    created = client.post(f"/v1/{tenant}/stacks", headers={"X-Auth-Token": ADMIN},
                          json={"stack_name": name, "template": TEMPLATE})
    assert created.status_code == 201, created.get_data(True)
    stack = created.get_json()["stack"]
    app.extensions["stoker-engine"].wait(stack["id"], 30)
    shown = client.get(f"/v1/{tenant}/stacks/{name}/{stack['id']}/outputs/cfn",
                       headers={"X-Auth-Token": ADMIN}).get_json()
    return stack, shown["output"]["output_value"]


@pytest.fixture
def cfn_stack(app):
    return stack_in(app, "t1", "cfn")


def v4_headers(access_key: str, secret_key: str, method: str, query: dict, now,
               payload: bytes = b"", date: str | None = None) -> dict:
    amz_date = date or now.strftime("%Y%m%dT%H%M%SZ")
    headers = {"Host": HOST, "X-Amz-Date": amz_date}
    signed = ("host", "x-amz-date")
    scope = (amz_date[:8], "0", "127")   # what boto derives from the host 127.0.0.1
    canonical = sigv4.canonical_request(method, "/v1/", query.items(), headers, signed, payload)
    signature = sigv4.signature(secret_key, amz_date, scope, canonical)
    headers["Authorization"] = (f"{sigv4.ALGORITHM} Credential={access_key}/{amz_date[:8]}/0/127/"
                                f"aws4_request,SignedHeaders=host;x-amz-date,Signature={signature}")
    return headers


def describe(app, cfn: dict, stack_name: str, resource: str = "server", secret: str | None = None,
             method: str = "GET", **header_overrides):
    now = app.extensions["stoker"].clock()
    query = {"Action": "DescribeStackResource", "ContentType": "JSON", "StackName": stack_name,
             "LogicalResourceId": resource, "Version": "2010-05-15"}
    client = app.test_client()
    if method == "POST":
        body = urlencode(query).encode()
        headers = v4_headers(cfn["access_key_id"], secret or cfn["secret_access_key"], "POST",
                             {}, now, payload=body)
        headers.update(header_overrides)
        return client.post("/v1/", data=body, headers=dict(
            headers, **{"Content-Type": "application/x-www-form-urlencoded; charset=UTF-8"}))
    headers = v4_headers(cfn["access_key_id"], secret or cfn["secret_access_key"], "GET", query, now)
    headers.update(header_overrides)
    return client.get("/v1/", query_string=query, headers=headers)


def detail_of(response) -> dict:
    assert response.status_code == 200, response.get_data(True)
    return response.get_json()["DescribeStackResourceResponse"]["DescribeStackResourceResult"][
        "StackResourceDetail"]


def error_code(response) -> str:
    return ET.fromstring(response.data).find("Error/Code").text


def test_the_aws_v4_test_vector_is_reproduced():
    # AWS's signature v4 test suite, case get-vanilla
    headers = {"Host": "example.amazonaws.com", "X-Amz-Date": "20150830T123600Z"}
    canonical = sigv4.canonical_request("GET", "/", [], headers, ("host", "x-amz-date"), b"")
    assert sigv4.signature("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "20150830T123600Z",
                           ("20150830", "us-east-1", "service"), canonical) == \
        "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"


def test_a_servers_own_resource_answers_its_metadata_merged_with_its_document(app, cfn_stack):
    stack, cfn = cfn_stack
    for name in ("cfn", stack["id"], f"arn:openstack:heat::t1:stacks/cfn/{stack['id']}"):
        detail = detail_of(describe(app, cfn, name))
        metadata = detail["Metadata"]
        assert metadata["AWS::CloudFormation::Init"] == {
            "config": {"files": {"/etc/motd": {"content": "hello"}}}}
        assert metadata["role"] == "web"
        assert metadata["os-collect-config"]["cfn"]["stack_name"] == "cfn"
        assert metadata["deployments"] == []
        assert detail["StackId"] == f"arn:openstack:heat::t1:stacks/cfn/{stack['id']}"
        assert (detail["LogicalResourceId"], detail["ResourceType"], detail["ResourceStatus"]) == \
            ("server", "OS::Heat::DeployedServer", "CREATE_COMPLETE")
    assert detail_of(describe(app, cfn, "cfn", method="POST"))["Metadata"]["role"] == "web"


def test_signature_v2_reads_the_same_metadata_as_xml(app, cfn_stack):
    _stack, cfn = cfn_stack
    params = {"Action": "DescribeStackResource", "StackName": "cfn", "LogicalResourceId": "server"}
    query = signed_query(cfn["access_key_id"], cfn["secret_access_key"], "GET",
                         f"http://{HOST}/v1/", params, now=app.extensions["stoker"].clock())
    response = app.test_client().get("/v1/", query_string=query, headers={"Host": HOST})
    assert response.status_code == 200, response.get_data(True)
    text = ET.fromstring(response.data).find(
        "DescribeStackResourceResult/StackResourceDetail/Metadata").text
    init = json.loads(text)["AWS::CloudFormation::Init"]
    assert init["config"]["files"]["/etc/motd"] == {"content": "hello"}


def test_another_resource_is_refused_and_a_missing_one_named(app, cfn_stack):
    _stack, cfn = cfn_stack
    refused = describe(app, cfn, "cfn", resource="other")
    assert (refused.status_code, error_code(refused)) == (403, "AccessDenied")
    assert b"not the server's" not in refused.data
    missing = describe(app, cfn, "cfn", resource="nope")
    assert (missing.status_code, error_code(missing)) == (400, "InvalidParameterValue")
    assert b"'nope'" in missing.data
    # a LogicalResourceId is the template's name, never a physical id
    physical = detail_of(describe(app, cfn, "cfn"))["PhysicalResourceId"]
    by_id = describe(app, cfn, "cfn", resource=physical)
    assert (by_id.status_code, error_code(by_id)) == (400, "InvalidParameterValue")


def test_another_projects_stack_is_not_found_only_the_servers_own_document(app, cfn_stack):
    _stack, cfn = cfn_stack
    _other, other_cfn = stack_in(app, "t2", "elsewhere")
    detail = detail_of(describe(app, other_cfn, "cfn"))   # t2's server names t1's stack
    assert "AWS::CloudFormation::Init" not in detail["Metadata"]
    assert detail["ResourceType"] == "OS::Heat::DeployedServer" and detail["StackName"] == "cfn"
    assert detail["PhysicalResourceId"] != _stack["id"]


@pytest.mark.parametrize("case, status, code", [
    ("wrong secret", 403, "SignatureDoesNotMatch"),
    ("stale date", 400, "RequestExpired"),
    ("no signed headers", 400, "IncompleteSignature"),
    ("host not signed", 400, "IncompleteSignature"),
    ("unknown key", 403, "InvalidClientTokenId"),
    ("date not a time", 400, "IncompleteSignature"),
])
def test_v4_errors_are_aws_style(app, cfn_stack, case, status, code):
    _stack, cfn = cfn_stack
    now = app.extensions["stoker"].clock()
    if case == "wrong secret":
        response = describe(app, cfn, "cfn", secret="x" * 40)
    elif case == "stale date":
        stale = (now - timedelta(minutes=20)).strftime("%Y%m%dT%H%M%SZ")
        query = {"Action": "DescribeStackResource", "StackName": "cfn", "LogicalResourceId": "server"}
        response = app.test_client().get("/v1/", query_string=query, headers=v4_headers(
            cfn["access_key_id"], cfn["secret_access_key"], "GET", query, now, date=stale))
    elif case == "no signed headers":
        response = describe(app, cfn, "cfn", Authorization=f"{sigv4.ALGORITHM} Credential="
                            f"{cfn['access_key_id']}/20260101/0/127/aws4_request, Signature=ab")
    elif case == "host not signed":
        response = describe(app, cfn, "cfn", Authorization=f"{sigv4.ALGORITHM} Credential="
                            f"{cfn['access_key_id']}/20260101/0/127/aws4_request, "
                            "SignedHeaders=x-amz-date, Signature=ab")
    elif case == "unknown key":
        response = describe(app, dict(cfn, access_key_id="AKIDUNKNOWN"), "cfn")
    else:
        response = describe(app, cfn, "cfn", **{"X-Amz-Date": "yesterday"})
    assert (response.status_code, error_code(response)) == (status, code), response.data
    assert b"Traceback" not in response.data


@pytest.mark.parametrize("authorization", [
    "AWS4-HMAC-SHA256 ",
    "AWS4-HMAC-SHA256 Credential=, SignedHeaders=, Signature=",
    "AWS4-HMAC-SHA256 Credential=a/b/c/d/aws4_request,SignedHeaders=host,Signature=zz",
    "AWS4-HMAC-SHA256 Credential=\u00e9/\u00fc/c/d/aws4_request,SignedHeaders=host;x-amz-date,"
    "Signature=\u00e9",
])
def test_a_malformed_v4_request_is_an_aws_error_not_a_crash(app, authorization):
    response = app.test_client().get("/v1/", query_string={"Action": "DescribeStackResource"},
                                     headers={"Authorization": authorization})
    assert response.status_code in (400, 403), response.data
    assert error_code(response) in ("IncompleteSignature", "InvalidClientTokenId")


def test_a_v4_body_over_the_limit_is_refused(app):
    body = b"Action=DescribeStackResource&x=" + b"a" * (app.config["MAX_CONTENT_LENGTH"] + 1)
    response = app.test_client().post("/v1/", data=body, headers={
        "Authorization": f"{sigv4.ALGORITHM} Credential=k/20260101/0/127/aws4_request,"
                         "SignedHeaders=host;x-amz-date,Signature=ab",
        "Content-Type": "application/x-www-form-urlencoded"})
    assert response.status_code == 413


IAM_TEMPLATE = {
    "AWSTemplateFormatVersion": "2010-09-09",
    "Resources": {
        "config": {"Type": "OS::Heat::None", "Metadata": {"AWS::CloudFormation::Init": INIT}},
        "hidden": {"Type": "OS::Heat::None", "Metadata": {"secret": "not for the key"}},
        "server": {"Type": "OS::Heat::DeployedServer", "Metadata": {"role": "web"}},
        "policy": {"Type": "OS::Heat::AccessPolicy",
                   "Properties": {"AllowedResources": ["config", "server"]}},
        "user": {"Type": "AWS::IAM::User", "Properties": {"Policies": [{"Ref": "policy"}]}},
        "key": {"Type": "AWS::IAM::AccessKey", "Properties": {"UserName": {"Ref": "user"}}},
    },
    "Outputs": {"id": {"Value": {"Ref": "key"}},
                "secret": {"Value": {"Fn::GetAtt": ["key", "SecretAccessKey"]}}},
}


def test_an_access_key_reads_what_its_users_policy_allows(app):
    client, admin = app.test_client(), {"X-Auth-Token": ADMIN}
    created = client.post("/v1/t1/stacks", headers=admin,
                          json={"stack_name": "iam", "template": IAM_TEMPLATE})
    assert created.status_code == 201, created.get_data(True)
    stack_id = created.get_json()["stack"]["id"]
    app.extensions["stoker-engine"].wait(stack_id, 30)
    outputs = {o["output_key"]: o["output_value"] for o in client.get(
        f"/v1/t1/stacks/iam/{stack_id}", headers=admin).get_json()["stack"]["outputs"]}
    key = {"access_key_id": outputs["id"], "secret_access_key": outputs["secret"]}
    metadata = detail_of(describe(app, key, "iam", resource="config"))["Metadata"]
    assert metadata == {"AWS::CloudFormation::Init": {
        "config": {"files": {"/etc/motd": {"content": {"get_param": "motd"}}}}}}
    # a server the policy allows: its template metadata, never the server's own document
    assert detail_of(describe(app, key, "iam", resource="server"))["Metadata"] == {"role": "web"}
    refused = describe(app, key, "iam", resource="hidden")
    assert (refused.status_code, error_code(refused)) == (403, "AccessDenied")
    assert b"not for the key" not in refused.data
