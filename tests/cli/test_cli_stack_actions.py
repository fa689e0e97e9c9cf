"""Stack actions, registry reads and the slips of issue 17, against a real server: suspend,
resume, check, cancel; resource types; template versions; `resource list -n`; `--dry-run` with
-f/-c; a finished deployment's phase; `deployment output show`; a pipe closed early."""
from __future__ import annotations

import json
import subprocess
import time

import pytest

from cli.operator.errors import NOT_FOUND, USAGE
from cli.processes import REPO, child_env, stoker_argv

SIMPLE = """\
heat_template_version: 2018-08-31
resources:
  a: {type: OS::Heat::Value, properties: {value: x}}
  inner: {type: lib/inner.yaml}
"""
INNER = """\
heat_template_version: 2018-08-31
resources:
  deep: {type: OS::Heat::None}
"""
WAITING = """\
heat_template_version: 2018-08-31
parameters:
  server: {type: string}
resources:
  dep:
    type: OS::Heat::SoftwareDeployment
    properties: {server: {get_param: server}, signal_transport: HEAT_SIGNAL}
"""


@pytest.fixture
def tree(tmp_path):
    (tmp_path / "lib").mkdir()
    (tmp_path / "app.yaml").write_text(SIMPLE)
    (tmp_path / "lib/inner.yaml").write_text(INNER)
    (tmp_path / "waiting.yaml").write_text(WAITING)
    return tmp_path


def _status(stoker, stack):
    return stoker("stack", "show", stack, "-f", "value", "-c", "stack_status").out.strip()


@pytest.mark.timeout(60)
def test_suspend_resume_check_and_nested_resource_list(stoker, tree):
    assert stoker("stack", "create", "app", "-t", str(tree / "app.yaml"), "--wait",
                  "--poll", "0.1").code == 0
    for command, status in (("suspend", "SUSPEND_COMPLETE"), ("resume", "RESUME_COMPLETE"),
                            ("check", "CHECK_COMPLETE")):
        done = stoker("stack", command, "app", "--wait", "--poll", "0.1", "-f", "value",
                      "-c", "stack_status")
        assert done.code == 0, done.err
        assert done.out.strip() == status
    refused = stoker("stack", "resume", "nope")
    assert refused.code == NOT_FOUND

    flat = json.loads(stoker("stack", "resource", "list", "app", "-f", "json").out)
    assert {r["resource_name"] for r in flat} == {"a", "inner"}
    deep = json.loads(stoker("stack", "resource", "list", "app", "-n", "1", "-f", "json").out)
    names = [(r["resource_name"], r["stack_name"]) for r in deep]
    assert ("a", "app") in names and ("inner", "app") in names
    nested = [n for n in names if n[0] == "deep"]
    assert len(nested) == 1 and nested[0][1] != "app"
    # the nested stack's rows follow their parent resource
    assert names.index(nested[0]) == names.index(("inner", "app")) + 1


@pytest.mark.timeout(60)
def test_cancel_stops_a_create(stoker, tree):
    server = stoker.http.post(f"{stoker.api}/servers", json={"name": "vm"},
                              timeout=10).json()["server"]["id"]
    assert stoker("stack", "create", "slow", "-t", str(tree / "waiting.yaml"), "--parameter",
                  f"server={server}").code == 0
    deadline = time.monotonic() + 30
    while _status(stoker, "slow") != "CREATE_IN_PROGRESS" or not stoker.http.get(
            f"{stoker.api}/software_deployments", params={"server_id": server},
            timeout=10).json()["software_deployments"]:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    refused = stoker("stack", "cancel", "slow")
    assert refused.code == USAGE and "--no-rollback" in refused.err
    cancelled = stoker("stack", "cancel", "slow", "--no-rollback", "--wait", "--poll", "0.1",
                       "-f", "value", "-c", "stack_status")
    assert cancelled.code == 0, cancelled.err
    assert cancelled.out.strip() == "CREATE_FAILED"


@pytest.mark.timeout(60)
def test_resource_types_and_template_versions(stoker):
    listed = stoker("resource", "type", "list", "-f", "value")
    assert listed.code == 0 and "OS::Heat::SoftwareDeployment" in listed.out.split()
    only = stoker("resource", "type", "list", "--filter-name", "randomstr", "-f", "value")
    assert only.out.split() == ["OS::Heat::RandomString"]
    schema = stoker("resource", "type", "show", "OS::Heat::Value", "-f", "json")
    assert schema.code == 0, schema.err
    assert set(json.loads(schema.out)["properties"]) == {"type", "value"}
    versions = stoker("template", "version", "list", "-f", "value", "-c", "version")
    assert versions.code == 0, versions.err
    assert {"heat_template_version.2021-04-16", "AWSTemplateFormatVersion.2010-09-09"} <= \
        set(versions.out.split())
    unknown = stoker("resource", "type", "show", "OS::Nope")
    assert unknown.code == NOT_FOUND and "resource type list" in unknown.err


@pytest.mark.timeout(60)
def test_dry_run_honours_format_and_columns(stoker, tree):
    value = stoker("stack", "create", "p", "-t", str(tree / "app.yaml"), "--dry-run",
                   "-f", "value", "-c", "Resource Name")
    assert value.code == 0, value.err
    assert sorted(value.out.split()) == ["a", "inner"]
    csv = stoker("stack", "create", "p", "-t", str(tree / "app.yaml"), "--dry-run", "-f", "csv",
                 "-c", "resource_name", "-c", "resource_type", "--sort-column", "resource_name")
    assert csv.out.splitlines()[:2] == ['"Resource Name","Resource Type"', '"a","OS::Heat::Value"']
    whole = json.loads(stoker("stack", "create", "p", "-t", str(tree / "app.yaml"),
                              "--dry-run", "-f", "json").out)
    assert whole["stack_name"] == "p"
    assert stoker("stack", "show", "p").code == NOT_FOUND


@pytest.mark.timeout(60)
def test_a_finished_deployment_shows_no_phase_and_outputs_print_alike(stoker):
    server = stoker.http.post(f"{stoker.api}/servers", json={"name": "vm"},
                              timeout=10).json()["server"]["id"]
    created = json.loads(stoker("software", "deployment", "create", "d", "--server", server,
                                "-f", "json").out)
    items = stoker.http.get(f"{stoker.api}/software_deployments/metadata/{server}",
                            timeout=10).json()["metadata"]
    signal_url = {i["name"]: i.get("value") for i in items[0]["inputs"]}["deploy_signal_id"]
    assert stoker.http.post(signal_url, json={}, headers={"X-Stoker-Phase": "running"},
                            timeout=10).status_code == 200
    running = json.loads(stoker("software", "deployment", "show", created["id"], "-f",
                                "json").out)
    assert running["phase"] == "running"
    assert stoker.http.post(signal_url, json={"deploy_stdout": "out\n", "deploy_stderr": "",
                                              "deploy_status_code": 0},
                            timeout=10).status_code == 200
    done = json.loads(stoker("software", "deployment", "show", created["id"], "-f", "json").out)
    assert done["status"] == "COMPLETE" and "phase" not in done

    code = stoker("software", "deployment", "output", "show", created["id"], "deploy_status_code")
    text = stoker("software", "deployment", "output", "show", created["id"], "deploy_stdout")
    assert code.out == "0\n" and text.out == "out\n\n"
    as_json = stoker("software", "deployment", "output", "show", created["id"],
                     "deploy_status_code", "-f", "json")
    assert json.loads(as_json.out) == {"deploy_status_code": 0}


@pytest.mark.timeout(60)
def test_a_pipe_closed_early_prints_no_traceback(stoker, tmp_path):
    script = tmp_path / "big.sh"
    script.write_text("".join(f"echo line {i}\n" for i in range(40000)))   # > a pipe's buffer
    config = json.loads(stoker("software", "config", "create", "big", "--config-file",
                               str(script), "-f", "json").out)["id"]
    cli = subprocess.Popen(stoker_argv("software", "config", "show", config, "--config-only"),
                           cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           env=child_env(STOKER_URL=stoker.base, STOKER_TOKEN=stoker.token,
                                         STOKER_TENANT=stoker.tenant))
    assert cli.stdout.readline() == b"echo line 0\n"
    cli.stdout.close()            # what `| head -1` does once it has its line
    err = cli.stderr.read().decode()
    cli.wait(timeout=30)
    assert "Traceback" not in err and "BrokenPipe" not in err, err
    assert cli.returncode == 141
