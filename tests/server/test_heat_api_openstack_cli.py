"""`openstack orchestration ...` and the read-only `openstack stack ...` commands of Heat's
catalog and environment routes (python-openstackclient + python-heatclient from PyPI at test
time) against a real stoker server, as an operator points them at Heat."""
from __future__ import annotations

import json
import secrets
import subprocess

import pytest

from cli.processes import start_server

TEMPLATE = """heat_template_version: 2018-08-31
parameters:
  secret: {type: string, hidden: true}
resources:
  rand: {type: OS::Heat::RandomString, properties: {length: 8}}
"""


@pytest.mark.timeout(400)
def test_openstack_catalog_commands(openstack_cli, tmp_path):
    token = secrets.token_urlsafe(16)
    process, base = start_server(tmp_path / "server", token, tmp_path / "server.log")
    (tmp_path / "stack.yaml").write_text(TEMPLATE)

    def run(*args: str):
        result = subprocess.run([str(openstack_cli), "--os-auth-type", "admin_token",
                                 "--os-endpoint", f"{base}/v1/proj", f"--os-token={token}", *args,
                                 "-f", "json"], capture_output=True, text=True, timeout=120,
                                cwd=tmp_path)
        assert result.returncode == 0, result.stderr + result.stdout
        lines = result.stdout.splitlines()   # with --wait, events come before the JSON
        start = next(i for i, line in enumerate(lines) if line.startswith(("{", "[")))
        return json.loads("\n".join(lines[start:]))

    try:
        listed = run("orchestration", "resource", "type", "list", "--filter",
                     "name=OS::Heat::Random.*")
        assert [t["Resource Type"] for t in listed] == ["OS::Heat::RandomString"]
        shown = run("orchestration", "resource", "type", "show", "OS::Heat::RandomString")
        assert "length" in shown["properties"] and "value" in shown["attributes"]
        generated = run("orchestration", "resource", "type", "show", "--template-type", "hot",
                        "OS::Heat::RandomString")
        assert generated["resources"]["RandomString"]["type"] == "OS::Heat::RandomString"
        versions = run("orchestration", "template", "version", "list")
        assert "heat_template_version.2021-04-16" in [v["Version"] for v in versions]
        functions = run("orchestration", "template", "function", "list",
                        "heat_template_version.2018-08-31")
        assert "get_attr" in [f["Functions"] for f in functions]
        services = run("orchestration", "service", "list")
        assert [s["Status"] for s in services] == ["up"]
        run("stack", "create", "-t", "stack.yaml", "--parameter", "secret=s3cret", "--wait",
            "demo")
        environment = run("stack", "environment", "show", "demo")
        assert environment["parameters"] == {"secret": "******"}
        resource = run("stack", "resource", "show", "demo", "rand")
        assert len(resource["attributes"]["value"]) == 8
    finally:
        process.stop()
    assert "Traceback" not in process.log()
