"""Real cfn-signal (heat-cfntools from PyPI; it runs curl) against an
AWS::CloudFormation::WaitConditionHandle's pre-signed URL on a real `stoker server`."""
from __future__ import annotations

import secrets
import shutil
import subprocess

import pytest
import requests

from cli.processes import start_server
from tests.upstream import require
from tests.waiting import stack_when

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

TEMPLATE = {
    "heat_template_version": "2018-08-31",
    "resources": {
        "handle": {"type": "AWS::CloudFormation::WaitConditionHandle"},
        "wait": {"type": "AWS::CloudFormation::WaitCondition", "properties": {
            "Handle": {"get_resource": "handle"}, "Timeout": 60, "Count": 2}},
    },
    "outputs": {"url": {"value": {"get_resource": "handle"}},
                "data": {"value": {"get_attr": ["wait", "Data"]}}},
}


def test_cfn_signal_completes_a_cfn_wait_condition(tmp_path):
    if shutil.which("curl") is None:
        pytest.skip("cfn-signal needs curl")
    cfn_signal = require(["heat-cfntools"], 180) / "bin" / "cfn-signal"
    token = secrets.token_hex(16)
    server, base = start_server(tmp_path / "server", token, tmp_path / "server.log")
    session = requests.Session()
    session.headers["X-Auth-Token"] = token
    try:
        response = session.post(f"{base}/v1/t1/stacks", json={"stack_name": "cfn",
                                                             "template": TEMPLATE}, timeout=10)
        assert response.status_code == 201, response.text
        stack_url = response.headers["Location"]
        stack = stack_when(session, stack_url, lambda s: any(
            o["output_key"] == "url" and o["output_value"] for o in s.get("outputs", [])))
        handle_url = next(o["output_value"] for o in stack["outputs"] if o["output_key"] == "url")
        for unique, data in (("web", "ready"), ("db", "migrated")):
            done = subprocess.run([str(cfn_signal), "-s", "true", "-r", f"{unique} is up",
                                   "-i", unique, "-d", data, handle_url],
                                  capture_output=True, text=True, timeout=60)
            assert done.returncode == 0, done.stdout + done.stderr
        stack = stack_when(session, stack_url, lambda s: s["stack_status"] != "CREATE_IN_PROGRESS")
        assert stack["stack_status"] == "CREATE_COMPLETE", stack["stack_status_reason"]
        outputs = {o["output_key"]: o["output_value"] for o in stack["outputs"]}
        assert outputs["data"] == '{"web": "ready", "db": "migrated"}'
    finally:
        assert server.stop() == 0
    assert "Traceback" not in server.log()
