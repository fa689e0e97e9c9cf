"""What unchanged images poll: the CFN DescribeStackResource API and a signed metadata URL."""
from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from urllib.parse import urlsplit

import pytest

from stoker_common.ec2_signature import signed_query


@pytest.fixture
def registered(api, make_server, make_config):
    server = make_server(name="web", id="srv-cfn")
    config = make_config()
    api.post("/v1/t1/software_deployments", {"config_id": config["id"], "server_id": "srv-cfn",
                                             "signal_transport": "CFN_SIGNAL"})
    return server


def _describe(api, cfn, **overrides):
    params = {"Action": "DescribeStackResource", "StackName": cfn["stack_name"],
              "LogicalResourceId": cfn["path"].split(".")[0]}
    query = signed_query(cfn["access_key_id"], cfn["secret_access_key"], "GET",
                         cfn["metadata_url"], params, now=api.client.application.extensions["stoker"].clock())
    query.update(overrides)
    path = urlsplit(cfn["metadata_url"]).path
    # the test client's host is localhost; sign for the host the server will see
    return api.as_(None).client.get(path, query_string=query,
                                    headers={"Host": urlsplit(cfn["metadata_url"]).netloc,
                                             "Content-Type": "application/json"})


def test_describe_stack_resource_returns_metadata_as_json_in_xml(api, registered):
    cfn = registered["os-collect-config"]["cfn"]
    response = _describe(api, cfn)
    assert response.status_code == 200, response.data
    root = ET.fromstring(response.data)
    detail = root.find("DescribeStackResourceResult/StackResourceDetail")
    assert detail.find("LogicalResourceId").text == "server"
    metadata = json.loads(detail.find("Metadata").text)
    assert [d["group"] for d in metadata["deployments"]] == ["script"]
    # the os-collect-config section keeps an upstream agent on the cfn collector
    assert metadata["os-collect-config"]["collectors"] == ["cfn", "local"]
    assert metadata["os-collect-config"]["cfn"]["access_key_id"] == cfn["access_key_id"]
    assert detail.find("ResourceStatus").text == "CREATE_COMPLETE"


@pytest.mark.parametrize("override, status, code", [
    ({"Signature": "forged"}, 403, "SignatureDoesNotMatch"),
    ({"AWSAccessKeyId": "UNKNOWNKEY"}, 403, "InvalidClientTokenId"),
    ({"Signature": ""}, 400, "IncompleteSignature"),
    ({"AWSAccessKeyId": ""}, 403, "MissingAuthenticationToken"),
    ({"Action": "DeleteStack"}, 400, "InvalidAction"),
])
def test_cfn_errors_are_aws_style_xml(api, registered, override, status, code):
    response = _describe(api, registered["os-collect-config"]["cfn"], **override)
    assert response.status_code == status
    error = ET.fromstring(response.data).find("Error")
    assert error.find("Code").text == code


def test_one_servers_keys_read_only_its_own_metadata(api, registered, make_server):
    other = make_server(name="other", id="srv-other")
    cfn = dict(other["os-collect-config"]["cfn"], stack_name="srv-cfn")  # asks for the first one
    metadata = json.loads(ET.fromstring(_describe(api, cfn).data).find(
        "DescribeStackResourceResult/StackResourceDetail/Metadata").text)
    assert metadata["deployments"] == []  # the key decides whose document, not the names


def test_rotated_keys_are_refused(api, registered):
    cfn = registered["os-collect-config"]["cfn"]
    api.post("/v1/t1/servers/srv-cfn/credentials")
    assert _describe(api, cfn).status_code == 403


def test_signed_metadata_url_for_the_request_collector(api, registered):
    url = registered["os-collect-config"]["request"]["metadata_url"]
    path = url.removeprefix("http://stoker.test")
    anonymous = api.as_(None)
    head = anonymous.client.head(path)
    assert head.status_code == 200 and "Last-Modified" in head.headers
    body = anonymous.get(path).json
    assert len(body["deployments"]) == 1
    assert body["os-collect-config"] == {"collectors": ["request", "local"],
                                         "request": {"metadata_url": url}}
    assert anonymous.get(path.replace("sig=", "sig=0")).status_code == 403
    api.post("/v1/t1/servers/srv-cfn/credentials")
    assert anonymous.get(path).status_code == 403  # rotation retires the URL
