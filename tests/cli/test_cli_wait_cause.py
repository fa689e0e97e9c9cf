"""`--wait` tells the cause: the failed resource's reason and its hook's stderr, the original
failure after a rollback, and the deployment that blocks when the wait times out."""
from __future__ import annotations

import io
import subprocess
import time

import pytest

from cli.operator.client import Client, Settings
from cli.operator.errors import WAIT_FAILED, WAIT_TIMEOUT, CliError
from cli.operator.progress import wait_for_stack
from cli.processes import REPO, child_env, stoker_argv

DEPLOYING = """\
heat_template_version: 2018-08-31
parameters:
  server: {type: string}
resources:
  cfg:
    type: OS::Heat::SoftwareConfig
    properties: {group: script, config: "#!/bin/sh\\nexit 1\\n"}
  dep:
    type: OS::Heat::SoftwareDeployment
    properties:
      config: {get_resource: cfg}
      server: {get_param: server}
      signal_transport: HEAT_SIGNAL
"""
FAILING = """\
heat_template_version: 2018-08-31
resources:
  ok: {type: OS::Heat::TestResource}
  broken:
    type: OS::Heat::TestResource
    properties: {fail: true}
    depends_on: ok
"""


def _server(stoker) -> str:
    response = stoker.http.post(f"{stoker.api}/servers", json={"name": "vm"}, timeout=10)
    assert response.status_code == 201
    return response.json()["server"]["id"]


def _deployment_of(stoker, server_id: str, within: float = 30) -> str:
    """The deployment the stack made for `server_id`, once it exists."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        rows = stoker.http.get(f"{stoker.api}/software_deployments",
                               params={"server_id": server_id}, timeout=10).json()
        if rows["software_deployments"]:
            return rows["software_deployments"][0]["id"]
        time.sleep(0.05)
    raise AssertionError("the stack made no deployment")


@pytest.mark.timeout(60)
def test_a_failed_deployment_shows_its_reason_and_stderr_tail(stoker, tmp_path):
    template = tmp_path / "dep.yaml"
    template.write_text(DEPLOYING)
    server = _server(stoker)
    cli = subprocess.Popen(
        stoker_argv("stack", "create", "web", "-t", str(template), "--parameter",
                    f"server={server}", "--wait", "--poll", "0.1"),
        cwd=REPO, env=child_env(STOKER_URL=stoker.base, STOKER_TOKEN=stoker.token,
                                STOKER_TENANT=stoker.tenant),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deployment = _deployment_of(stoker, server)
        stderr = "".join(f"noise {i}\n" for i in range(20)) + "Error: the package is missing\n"
        answer = stoker.http.put(f"{stoker.api}/software_deployments/{deployment}", json={
            "status": "FAILED", "status_reason": "deploy_status_code : Deployment exited with "
            "non-zero status code: 3", "output_values": {
                "deploy_stdout": "", "deploy_stderr": stderr, "deploy_status_code": 3}},
            timeout=10)
        assert answer.status_code == 200
        _, err = cli.communicate(timeout=45)
    finally:
        cli.kill()
        cli.wait()
    assert cli.returncode == WAIT_FAILED, err
    lines = err.splitlines()
    tail = lines.index(f"deployment {deployment} stderr (last 10 lines):")
    assert lines[tail + 1:tail + 11] == [f"  noise {i}" for i in range(11, 20)] + [
        "  Error: the package is missing"]
    assert f"see `stoker deployment explain {deployment}`" in lines
    assert lines[-1].startswith("stoker: error: stack web CREATE_FAILED: ")
    assert "non-zero status code: 3" in lines[-1]
    assert "Traceback" not in err


@pytest.mark.timeout(60)
def test_after_a_rollback_the_original_failure_is_printed(stoker, tmp_path):
    template = tmp_path / "failing.yaml"
    template.write_text(FAILING)
    result = stoker("stack", "create", "bad", "-t", str(template), "--enable-rollback",
                    "--wait", "--poll", "0.1")
    assert result.code == WAIT_FAILED
    last = result.err.strip().splitlines()[-1]
    assert last.startswith("stoker: error: stack bad CREATE_FAILED: CREATE failed (broken: ")
    assert "Test Resource failed broken" in last
    assert "was rolled back (ROLLBACK_COMPLETE)" in last
    assert "completed successfully" not in last


@pytest.mark.timeout(60)
def test_a_wait_timeout_names_the_blocking_deployment(stoker, tmp_path):
    template = tmp_path / "dep.yaml"
    template.write_text(DEPLOYING)
    server = _server(stoker)
    assert stoker("stack", "create", "slow", "-t", str(template), "--parameter",
                  f"server={server}").code == 0
    deployment = _deployment_of(stoker, server)
    deadline = time.monotonic() + 30       # the resource records the id just after making it
    stack = stoker.http.get(f"{stoker.api}/stacks/slow", timeout=10).json()["stack"]
    resource = f"{stoker.api}/stacks/slow/{stack['id']}/resources/dep"
    while stoker.http.get(resource, timeout=10).json()["resource"][
            "physical_resource_id"] != deployment:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    client = Client(Settings(stoker.base, stoker.token, stoker.tenant))
    with pytest.raises(CliError) as caught:
        wait_for_stack(client, "stacks/slow", "slow", "CREATE", timeout=0, stream=io.StringIO())
    assert caught.value.code == WAIT_TIMEOUT
    assert caught.value.message == (
        f"stack slow is still CREATE_IN_PROGRESS after 0 s; resource dep waits on deployment "
        f"{deployment}; run `stoker deployment explain {deployment}`")
