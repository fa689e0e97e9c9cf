"""AWS::EC2::Instance beyond the case table: its Metadata reaches the server through the same
route an OS::Nova::Server's does, with the instance's own credential; subnet ports, volumes and
an in-place resize on the local driver."""
from __future__ import annotations

import pytest

from engine_helpers import ADMIN, ENDPOINTS, run
from metadata_server.engine.drivers import LocalDriver
from metadata_server.engine.stack import Engine
from metadata_server.service.clock import system_clock
from stoker_common.ec2_signature import signed_query

pytestmark = pytest.mark.timeout(60)

INIT = {"AWS::CloudFormation::Init": {"config": {"files": {"/tmp/x": {"content": "y"}}}}}


def cfn(resources, outputs=None):
    template = {"AWSTemplateFormatVersion": "2010-09-09", "Resources": resources}
    if outputs:
        template["Outputs"] = outputs
    return template


def instance(**properties):
    return {"Type": "AWS::EC2::Instance", "Metadata": INIT,
            "Properties": {"ImageId": "cirros", "InstanceType": "m1.small", **properties}}


def test_instance_metadata_is_served_to_its_own_server_only(app, store):
    from metadata_server.api.common import ctx
    from metadata_server.api.app_engine import start_engine
    with app.test_request_context():
        engine = start_engine(app, ctx().endpoints(), driver=LocalDriver())
    client = app.test_client()
    created = client.post("/v1/t1/stacks", headers={"X-Auth-Token": ADMIN}, json={
        "stack_name": "ec2", "template": cfn({"web": instance(), "db": instance()})})
    assert created.status_code == 201, created.json
    stack = run(engine, created.json["stack"]["id"])
    assert stack["status"] == "COMPLETE", stack["status_reason"]
    occ = engine.resource_attribute(stack, "web", "os_collect_config")
    cfn_settings = occ["cfn"]
    assert occ["collectors"] == ["cfn", "local"]
    assert cfn_settings["path"] == "web.Metadata" and cfn_settings["stack_name"] == "ec2"
    web = engine.find_resource(stack["id"], "web")
    assert store.get_server(web["physical_id"]) is not None   # a registered stoker server

    from test_engine_heat_transport import keystone_token
    as_web = keystone_token(client, web["physical_id"], web["data"]["token"], "t1")
    base = f"/v1/t1/stacks/ec2/{stack['id']}/resources"
    answer = client.get(f"{base}/web/metadata", headers=as_web)
    assert answer.status_code == 200, answer.json
    metadata = answer.json["metadata"]
    assert metadata["AWS::CloudFormation::Init"] == INIT["AWS::CloudFormation::Init"]
    assert metadata["deployments"] == [] and metadata["os-collect-config"]["cfn"]
    assert client.get(f"{base}/db/metadata", headers=as_web).status_code == 403

    # the CFN API (the cfn collector, cfn-init) with the instance's own key pair, as a server's
    query = signed_query(cfn_settings["access_key_id"], cfn_settings["secret_access_key"],
                         "GET", "http://localhost/v1/",
                         {"Action": "DescribeStackResource", "StackName": "ec2",
                          "LogicalResourceId": "web", "ContentType": "JSON"},
                         now=app.extensions["stoker"].clock())
    described = client.get("/v1/", query_string=query)
    assert described.status_code == 200, described.data
    detail = described.json["DescribeStackResourceResponse"]["DescribeStackResourceResult"][
        "StackResourceDetail"]
    assert detail["Metadata"]["AWS::CloudFormation::Init"] == INIT["AWS::CloudFormation::Init"]
    assert detail["ResourceType"] == "AWS::EC2::Instance" and "deployments" in detail["Metadata"]

    engine.delete_stack("t1", stack["id"])
    assert run(engine, stack["id"])["status"] == "COMPLETE"
    assert store.get_server(web["physical_id"]) is None


@pytest.fixture
def local():
    driver = LocalDriver()
    return driver


@pytest.fixture
def local_engine(store, local):
    eng = Engine(store, system_clock, driver=local, endpoints=ENDPOINTS, poll_interval=0.02)
    yield eng
    eng.close()


def test_subnet_port_volumes_and_resize(local_engine, local):
    engine = local_engine
    resources = {
        "net": {"Type": "OS::Neutron::Net"},
        "subnet": {"Type": "OS::Neutron::Subnet", "Properties": {
            "network": {"Ref": "net"}, "cidr": "192.168.7.0/24"}},
        "vol": {"Type": "OS::Cinder::Volume", "Properties": {"size": 1}},
        "web": instance(SubnetId={"Ref": "subnet"}, SecurityGroups=["default"],
                        Volumes=[{"Device": "/dev/vdb", "VolumeId": {"Ref": "vol"}}])}
    outputs = {"ip": {"Value": {"Fn::GetAtt": ["web", "PrivateIp"]}}}
    stack = run(engine, engine.create_stack("t1", {"stack_name": "sub",
                                                   "template": cfn(resources, outputs)})["id"])
    assert stack["status"] == "COMPLETE", stack["status_reason"]
    assert engine.outputs(stack)[0]["output_value"] == "192.168.7.2"
    web = engine.find_resource(stack["id"], "web")["data"]
    port = local.show("port", web["subnet_port"])
    assert port["security_groups"] == ["default"] and port["device_id"] == web["cloud_id"]
    server = local.show("server", web["cloud_id"])
    assert server["security_groups"] == [] and server["ports"] == [web["subnet_port"]]
    (attachment,) = web["attachments"]
    assert local.show("volume_attachment", attachment)["mountpoint"] == "/dev/vdb"

    resources["web"]["Properties"]["InstanceType"] = "m1.large"
    engine.update_stack("t1", stack["id"], {"template": cfn(resources, outputs)})
    stack = run(engine, stack["id"])
    assert stack["status"] == "COMPLETE", stack["status_reason"]
    after = engine.find_resource(stack["id"], "web")
    assert after["data"]["cloud_id"] == web["cloud_id"]   # resized in place, not replaced
    assert local.show("server", web["cloud_id"])["flavor"] == "m1.large"

    engine.delete_stack("t1", stack["id"])
    assert run(engine, stack["id"])["status"] == "COMPLETE"
    assert [r for r in local._objects.values() if not r.get("implicit")] == []
