"""`openstack stack abandon` / `adopt` and `openstack stack snapshot ...` (python-openstackclient
+ python-heatclient, from PyPI at test time) against a real `stoker server --stack-adopt`: the
abandon/adopt round trip on each of the suite's databases, the snapshot commands on SQLite."""
from __future__ import annotations

import json
import secrets
import subprocess
import uuid
from contextlib import contextmanager

import pytest

from cli.processes import start_server
from tests.conftest import DATABASES, POSTGRES_URL
from tests.waiting import until

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

TEMPLATE = """heat_template_version: 2018-08-31
parameters:
  length: {type: number, default: 12}
resources:
  rand:
    type: OS::Heat::RandomString
    properties: {length: {get_param: length}}
  val:
    type: OS::Heat::Value
    properties:
      value: {str_replace: {template: pw=$R, params: {$R: {get_attr: [rand, value]}}}}
outputs:
  pw: {value: {get_attr: [val, value]}}
"""


@pytest.fixture(scope="module", params=DATABASES)
def database(request):
    """SQLite in the server's state directory, or a PostgreSQL database of this module's own
    (a server takes over any IN_PROGRESS stack it finds; other tests leave theirs)."""
    if request.param == "sqlite":
        return None
    from tests.databases import fresh_postgres_database
    return fresh_postgres_database(POSTGRES_URL, suffix="_snaps_cli")


@contextmanager
def _cli(openstack_cli, tmp_path, database):
    """`run(*args)`: an openstack command against a fresh server, its JSON answer."""
    token = secrets.token_urlsafe(16)
    extra = ["--stack-adopt"] + (["--single-node"] if database else [])
    process, base = start_server(tmp_path / "server", token, tmp_path / "server.log",
                                 database, "127.0.0.1:0", *extra)
    (tmp_path / "stack.yaml").write_text(TEMPLATE)
    tenant = f"p{uuid.uuid4().hex[:8]}"   # each test a tenant of its own in the database

    def run(*args: str, formatted: bool = True):
        result = subprocess.run([str(openstack_cli), "--os-auth-type", "admin_token",
                                 "--os-endpoint", f"{base}/v1/{tenant}", f"--os-token={token}",
                                 *args, *(["-f", "json"] if formatted else [])],
                                capture_output=True, text=True, timeout=120, cwd=tmp_path)
        assert result.returncode == 0, result.stderr + result.stdout
        if not formatted:
            return result.stdout
        lines = result.stdout.splitlines()  # with --wait, heatclient prints events first
        start = next(i for i, line in enumerate(lines) if line.startswith(("{", "[")))
        return json.loads("\n".join(lines[start:]))

    try:
        yield run
    finally:
        process.stop()


@pytest.fixture
def openstack(openstack_cli, tmp_path, database):
    with _cli(openstack_cli, tmp_path, database) as run:
        yield run


@pytest.fixture
def openstack_sqlite(openstack_cli, tmp_path):
    with _cli(openstack_cli, tmp_path, None) as run:
        yield run


def _output(run, stack: str, key: str):
    return run("stack", "output", "show", stack, key)["output_value"]


def test_openstack_stack_abandon_then_adopt(openstack, tmp_path):
    run = openstack
    run("stack", "create", "-t", "stack.yaml", "--wait", "demo")
    pw = _output(run, "demo", "pw")
    resources = {r["resource_name"]: r["physical_resource_id"]
                 for r in run("stack", "resource", "list", "demo")}

    run("stack", "abandon", "--output-file", "abandoned.json", "demo", formatted=False)
    data = json.loads((tmp_path / "abandoned.json").read_text())
    assert data["name"] == "demo" and set(data["resources"]) == {"rand", "val"}
    assert run("stack", "list") == []

    adopted = run("stack", "adopt", "--adopt-file", "abandoned.json", "--wait", "again")
    assert adopted["stack_status"] == "ADOPT_COMPLETE"
    assert _output(run, "again", "pw") == pw
    assert {r["resource_name"]: r["physical_resource_id"]
            for r in run("stack", "resource", "list", "again")} == resources


def test_openstack_stack_snapshot_commands(openstack_sqlite):
    """On SQLite alone: the API tests run snapshots on both databases."""
    run = openstack_sqlite
    run("stack", "create", "-t", "stack.yaml", "--wait", "demo")
    pw = _output(run, "demo", "pw")

    made = run("stack", "snapshot", "create", "--name", "first", "demo")
    assert made["name"] == "first" and made["status"] in ("IN_PROGRESS", "COMPLETE")
    listed = run("stack", "snapshot", "list", "demo")
    assert [s["id"] for s in listed] == [made["ID"]]
    shown = run("stack", "snapshot", "show", "demo", made["ID"], formatted=False)
    assert made["ID"] in shown and "COMPLETE" in shown

    # a new length replaces the RandomString: another value
    run("stack", "update", "--existing", "--parameter", "length=20", "--wait", "demo")
    assert _output(run, "demo", "pw") != pw
    run("stack", "snapshot", "restore", "demo", made["ID"], formatted=False)
    stack = _wait_restored(run, "demo")
    assert stack["stack_status"] == "RESTORE_COMPLETE", stack["stack_status_reason"]
    assert _output(run, "demo", "pw") == pw

    run("stack", "snapshot", "delete", "demo", made["ID"], formatted=False)
    assert run("stack", "snapshot", "list", "demo") == []


def _wait_restored(run, name: str) -> dict:
    """`snapshot restore` has no --wait: `stack show` until the restore ends."""
    def ended():
        stack = run("stack", "show", name)
        return None if stack["stack_status"].endswith("IN_PROGRESS") else stack
    return until(ended, 60, "the restore to end", pause=0.2)
