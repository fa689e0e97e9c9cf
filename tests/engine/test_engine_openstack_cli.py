"""`openstack stack ...` (python-openstackclient + python-heatclient, from PyPI at test time)
against a real stoker server with `--os-auth-type admin_token`, as an operator points it at Heat."""
from __future__ import annotations

import json
import secrets
import subprocess

import pytest

from cli.processes import start_server

TEMPLATE = """heat_template_version: 2018-08-31
description: a stack for the CLI
parameters:
  greeting: {type: string, default: hello}
resources:
  value:
    type: OS::Heat::Value
    properties: {value: {get_param: greeting}}
  child:
    type: child.yaml
    properties: {word: {get_attr: [value, value]}}
outputs:
  said: {value: {get_attr: [child, echoed]}, description: what the child said}
"""
CHILD = """heat_template_version: 2018-08-31
parameters:
  word: {type: string}
resources:
  echo:
    type: OS::Heat::TestResource
    properties: {value: {get_param: word}}
outputs:
  echoed: {value: {get_attr: [echo, output]}}
"""


@pytest.mark.timeout(400)
def test_openstack_stack_commands(openstack_cli, tmp_path):
    token = secrets.token_urlsafe(16)
    process, base = start_server(tmp_path / "server", token, tmp_path / "server.log")
    (tmp_path / "stack.yaml").write_text(TEMPLATE)
    (tmp_path / "child.yaml").write_text(CHILD)

    def run(*args: str, formatted: bool = True):
        result = subprocess.run([str(openstack_cli), "--os-auth-type", "admin_token",
                                 "--os-endpoint", f"{base}/v1/proj", f"--os-token={token}", *args,
                                 *(["-f", "json"] if formatted else [])],
                                capture_output=True, text=True, timeout=120, cwd=tmp_path)
        assert result.returncode == 0, result.stderr + result.stdout
        if not formatted:
            return result.stdout
        # with --wait, heatclient prints the stack's events before the JSON
        lines = result.stdout.splitlines()
        start = next(i for i, line in enumerate(lines) if line.startswith(("{", "[")))
        return json.loads("\n".join(lines[start:]))

    try:
        valid = run("orchestration", "template", "validate", "-t", "stack.yaml")
        assert valid["Description"] == "a stack for the CLI"
        created = run("stack", "create", "-t", "stack.yaml", "--parameter", "greeting=hi",
                      "--wait", "demo")
        assert created["stack_status"] == "CREATE_COMPLETE"
        shown = run("stack", "show", "demo")
        assert shown["stack_status"] == "CREATE_COMPLETE"
        assert run("stack", "output", "show", "demo", "said")["output_value"] == "hi"
        resources = run("stack", "resource", "list", "demo")
        assert {r["resource_name"]: r["resource_status"] for r in resources} == {
            "value": "CREATE_COMPLETE", "child": "CREATE_COMPLETE"}
        events = run("stack", "event", "list", "demo")
        assert events and all("resource_status" in e for e in events)
        assert [s["Stack Name"] for s in run("stack", "list")] == ["demo"]
        dry = run("stack", "update", "--existing", "--parameter", "greeting=bye", "--dry-run",
                  "demo")
        assert "value" in json.dumps(dry)
        run("stack", "update", "--existing", "--parameter", "greeting=bye", "--wait", "demo")
        assert run("stack", "output", "show", "demo", "said")["output_value"] == "bye"
        run("stack", "delete", "-y", "--wait", "demo", formatted=False)
        assert run("stack", "list") == []
    finally:
        process.stop()
    assert "Traceback" not in process.log()
