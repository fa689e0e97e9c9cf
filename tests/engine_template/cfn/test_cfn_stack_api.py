"""CFN-format stacks through the Heat API: create, show, update, validate and a located 400."""
from __future__ import annotations

import pytest

from tests.server.conftest import ADMIN

pytestmark = pytest.mark.timeout(60)

TEMPLATE = """\
AWSTemplateFormatVersion: 2010-09-09
Description: a CFN stack with a Mapping, a Condition and Outputs
Parameters:
  Tier:
    Type: String
    Default: web
    AllowedValues: [web, db]
  Secret: {Type: String, NoEcho: "true", Default: hunter2}
Mappings:
  TierMap:
    web: {Port: "80"}
    db: {Port: "5432"}
Conditions:
  IsDb: {"Fn::Equals": [{Ref: Tier}, db]}
Resources:
  Port:
    Type: OS::Heat::Value
    Properties:
      value: {"Fn::FindInMap": [TierMap, {Ref: Tier}, Port]}
  Backup:
    Type: OS::Heat::Value
    Condition: IsDb
    DependsOn: Port
    DeletionPolicy: Retain
    Metadata: {role: backup}
    Properties:
      value: {"Fn::Join": ["-", [{Ref: "AWS::StackName"}, backup]]}
Outputs:
  port:
    Description: the tier's port
    Value: {"Fn::GetAtt": [Port, value]}
  backup:
    Value: {"Fn::If": [IsDb, {"Fn::GetAtt": [Backup, value]}, none]}
  region:
    Value: {Ref: "AWS::Region"}
"""


@pytest.fixture
def client(app):
    client = app.test_client()
    client.environ_base["HTTP_X_AUTH_TOKEN"] = ADMIN
    return client


def _wait(app, stack_id):
    return app.extensions["stoker-engine"].wait(stack_id, 30)


def _outputs(client, stack_id):
    shown = client.get(f"/v1/t1/stacks/cfn/{stack_id}").json["stack"]
    return shown, {o["output_key"]: o["output_value"] for o in shown["outputs"]}


def test_cfn_stack_create_update_with_mapping_condition_outputs(client, app):
    created = client.post("/v1/t1/stacks", json={"stack_name": "cfn", "template": TEMPLATE})
    assert created.status_code == 201, created.json
    stack_id = created.json["stack"]["id"]
    _wait(app, stack_id)
    shown, outputs = _outputs(client, stack_id)
    assert shown["stack_status"] == "CREATE_COMPLETE", shown["stack_status_reason"]
    assert outputs == {"port": "80", "backup": "none", "region": "ap-southeast-1"}
    assert shown["parameters"]["Secret"] == "******"
    assert shown["parameters"]["AWS::StackName"] == "cfn"
    assert shown["parameters"]["AWS::StackId"] == f"arn:openstack:heat::t1:stacks/cfn/{stack_id}"
    names = {r["resource_name"] for r in
             client.get(f"/v1/t1/stacks/cfn/{stack_id}/resources").json["resources"]}
    assert names == {"Port"}   # Backup's condition is false

    updated = client.patch(f"/v1/t1/stacks/cfn/{stack_id}", json={"parameters": {"Tier": "db"}})
    assert updated.status_code == 202, updated.json
    _wait(app, stack_id)
    shown, outputs = _outputs(client, stack_id)
    assert shown["stack_status"] == "UPDATE_COMPLETE", shown["stack_status_reason"]
    assert outputs == {"port": "5432", "backup": "cfn-backup", "region": "ap-southeast-1"}
    backup = client.get(f"/v1/t1/stacks/cfn/{stack_id}/resources/Backup/metadata").json
    assert backup == {"metadata": {"role": "backup"}}

    assert client.delete(f"/v1/t1/stacks/cfn/{stack_id}").status_code == 204
    assert _wait(app, stack_id)["status"] == "COMPLETE"


def test_cfn_bad_parameter_and_bad_template_are_located_400s(client, app):
    bad_value = client.post("/v1/t1/stacks", json={"stack_name": "cfn", "template": TEMPLATE,
                                                   "parameters": {"Tier": "mq"}})
    assert bad_value.status_code == 400
    assert "Parameter 'Tier' is invalid" in bad_value.json["error"]["message"]
    broken = TEMPLATE.replace("Value: {Ref: \"AWS::Region\"}",
                              "Value: {\"Fn::GetAtt\": [Port, value, extra]}")
    refused = client.post("/v1/t1/stacks", json={"stack_name": "cfn", "template": broken})
    assert refused.status_code == 400
    message = refused.json["error"]["message"]
    assert message.startswith("template:35:13: Outputs.region.Value.Fn::GetAtt: "), message
    assert client.get("/v1/t1/stacks").json["stacks"] == []


def test_cfn_template_validate_shows_parameters(client, app):
    body = client.post("/v1/t1/validate", json={"template": TEMPLATE}).json
    assert body["Description"] == "a CFN stack with a Mapping, a Condition and Outputs"
    assert body["Parameters"]["Tier"]["AllowedValues"] == ["web", "db"]
    assert body["Parameters"]["Secret"]["NoEcho"] == "true"
    assert body["Parameters"]["Secret"]["Default"] == "******"
