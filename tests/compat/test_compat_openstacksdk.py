"""A client written for Heat's orchestration API works against stoker: openstacksdk, unchanged.

The real server runs as a process; openstacksdk (the `openstack` extra) talks to it with
`auth_type='admin_token'` and an endpoint, as an operator would point it at Heat.
"""
from __future__ import annotations

import secrets

import pytest

from cli.processes import start_server

openstack = pytest.importorskip("openstack", reason="the `openstack` extra is not installed")


@pytest.fixture
def server(tmp_path):
    token = secrets.token_hex(16)
    process, base = start_server(tmp_path / "server", token, tmp_path / "server.log")
    yield base, token
    process.stop()
    assert "Traceback" not in process.log()


def _connect(endpoint: str, token: str, auth_type: str = "admin_token"):
    auth = {"endpoint": endpoint, "token": token} if auth_type == "admin_token" else {}
    return openstack.connection.Connection(
        auth_type=auth_type, auth=auth, orchestration_api_version="1",
        orchestration_endpoint_override=endpoint if auth_type == "none" else None)


@pytest.mark.timeout(60)
def test_openstacksdk_software_config_and_deployment_calls(server):
    base, token = server
    conn = _connect(f"{base}/v1/myproject", token)
    orchestration = conn.orchestration
    config = orchestration.create_software_config(
        name="c1", group="script", config="#!/bin/sh\necho hi",
        inputs=[{"name": "foo", "type": "String", "default": "x"}],
        outputs=[{"name": "result"}], options={})
    assert config.id and config.name == "c1"
    assert [c.id for c in orchestration.software_configs()] == [config.id]
    shown = orchestration.get_software_config(config.id)
    assert shown.config == "#!/bin/sh\necho hi" and shown.outputs[0]["error_output"] is False
    deployment = orchestration.create_software_deployment(
        config_id=config.id, server_id="srv-1", action="CREATE", status="IN_PROGRESS",
        status_reason="", input_values={"foo": "bar"}, stack_user_project_id="sup")
    assert deployment.status == "IN_PROGRESS"
    assert [d.id for d in orchestration.software_deployments(server_id="srv-1")] == [deployment.id]
    updated = orchestration.update_software_deployment(deployment, status="COMPLETE",
                                                       output_values={"result": "ok"})
    assert updated.status == "COMPLETE" and updated.output_values == {"result": "ok"}
    metadata = orchestration.get("/software_deployments/metadata/srv-1").json()["metadata"]
    assert [item["id"] for item in metadata] == [config.id]
    orchestration.delete_software_deployment(deployment)
    orchestration.delete_software_config(config)
    assert list(orchestration.software_configs()) == []


@pytest.mark.timeout(60)
def test_bad_token_is_refused(server):
    base, _ = server
    conn = _connect(f"{base}/v1/myproject", "wrong")
    with pytest.raises(openstack.exceptions.HttpException) as raised:
        list(conn.orchestration.software_configs())
    assert raised.value.status_code == 401


@pytest.mark.timeout(60)
def test_version_discovery_with_auth_type_none(server):
    """auth_type='none' first discovers versions through GET /v1, as against Heat."""
    base, _ = server
    conn = _connect(f"{base}/v1/myproject", "", auth_type="none")
    with pytest.raises(openstack.exceptions.HttpException) as raised:
        list(conn.orchestration.software_configs())
    assert raised.value.status_code == 401  # discovery worked; the 'notused' token did not
