"""`stoker software config|deployment ...` against a real server, in-process."""
from __future__ import annotations

import json
import subprocess
import threading

import pytest
import yaml

from cli.operator.errors import (AUTH, CONFLICT, NOT_FOUND, UNREACHABLE, USAGE, WAIT_FAILED,
                                 WAIT_TIMEOUT)
from cli.processes import REPO, child_env, stoker_argv

SCRIPT = "#!/bin/sh\necho \"hi $name\"\nprintf done > $heat_outputs_path.result\n"


@pytest.fixture
def config_files(tmp_path):
    script = tmp_path / "script.sh"
    script.write_text(SCRIPT)
    definition = tmp_path / "definition.yaml"
    definition.write_text(yaml.safe_dump({
        "inputs": [{"name": "name", "default": "world"}],
        "outputs": [{"name": "result"}], "options": {"k": "v"}}))
    return script, definition


def _config(stoker, config_files, name="cfg"):
    script, definition = config_files
    result = stoker("software", "config", "create", name, "--config-file", str(script),
                    "--definition-file", str(definition), "--group", "script", "-f", "json")
    assert result.code == 0, result.err
    return json.loads(result.out)


def _server(stoker, name="vm"):
    response = stoker.http.post(f"{stoker.api}/servers", json={"name": name}, timeout=10)
    assert response.status_code == 201
    return response.json()


@pytest.mark.timeout(30)
def test_config_create_list_show_delete(stoker, config_files):
    created = _config(stoker, config_files)
    assert created["group"] == "script" and created["config"] == SCRIPT
    assert created["inputs"] == [{"name": "name", "type": "String", "default": "world"}]
    assert created["options"] == {"k": "v"}

    listing = stoker("software", "config", "list", "-f", "json")
    assert listing.code == 0
    assert [c["id"] for c in json.loads(listing.out)] == [created["id"]]
    assert set(json.loads(listing.out)[0]) == {"id", "name", "group", "creation_time"}

    table = stoker("software", "config", "list")
    assert table.out.splitlines()[1].split("|")[1].strip() == "ID"
    assert created["id"] in table.out

    value = stoker("software", "config", "show", created["id"], "-f", "value", "-c", "name",
                   "-c", "group")
    assert value.out.splitlines() == ["cfg", "script"]
    only = stoker("software", "config", "show", created["id"], "--config-only")
    assert only.out == SCRIPT + "\n"
    shown = yaml.safe_load(stoker("software", "config", "show", created["id"], "-f", "yaml").out)
    assert shown == created

    assert stoker("software", "config", "delete", created["id"]).code == 0
    gone = stoker("software", "config", "show", created["id"])
    assert gone.code == NOT_FOUND
    assert gone.err.startswith(f"stoker: error: software config {created['id']} not found")
    assert gone.err.count("\n") == 1 and "Traceback" not in gone.err


@pytest.mark.timeout(30)
def test_config_errors_are_one_line_with_exit_codes(stoker, tmp_path, config_files):
    missing = stoker("software", "config", "create", "x", "--config-file", str(tmp_path / "no"))
    assert missing.code == USAGE
    assert "--config-file" in missing.err and "cannot read" in missing.err
    bad = tmp_path / "def.yaml"
    bad.write_text("inputs: []\nbogus: 1\n")
    unknown = stoker("software", "config", "create", "x", "--definition-file", str(bad))
    assert unknown.code == USAGE and "unknown key 'bogus'" in unknown.err
    bad.write_text("inputs: [{name: a, type: Str}]\n")
    refused = stoker("software", "config", "create", "x", "--definition-file", str(bad))
    assert refused.code == 1
    assert refused.err.strip() == ("stoker: error: inputs[0].type: 'Str' is not one of String, "
                                   "Number, CommaDelimitedList, Json, Boolean")
    wrong = stoker("software", "config", "list", "--os-token", "wrong")
    assert wrong.code == AUTH and "--os-token" in wrong.err and "wrong" not in wrong.err
    down = stoker("software", "config", "list", "--os-url", "http://127.0.0.1:9")
    assert down.code == UNREACHABLE and "cannot connect" in down.err
    column = stoker("software", "config", "list", "-c", "nope")
    assert column.code == USAGE and "choose from ID, Name, Group, Creation Time" in column.err


@pytest.mark.timeout(30)
def test_deployment_create_derives_on_the_server(stoker, config_files):
    config = _config(stoker, config_files)
    server = _server(stoker)["server"]
    created = stoker("software", "deployment", "create", "dep1", "--server", server["id"],
                     "--config", config["id"], "--input-value", "name=ann", "--timeout", "5",
                     "-f", "json")
    assert created.code == 0, created.err
    deployment = json.loads(created.out)
    assert deployment["status"] == "IN_PROGRESS" and deployment["action"] == "UPDATE"
    assert deployment["config_id"] != config["id"]          # the derived config

    long = json.loads(stoker("software", "deployment", "show", deployment["id"], "--long",
                             "-f", "json").out)
    inputs = {i["name"]: i.get("value") for i in long["config"]["inputs"]}
    assert inputs["name"] == "ann" and inputs["deploy_action"] == "UPDATE"
    assert inputs["deploy_signal_verb"] == "PUT" and "sig=" in inputs["deploy_signal_id"]
    assert long["config"]["name"] == "dep1"

    nosignal = json.loads(stoker("software", "deployment", "create", "dep2", "--server",
                                 server["id"], "--config", config["id"], "--signal-transport",
                                 "NO_SIGNAL", "-f", "json").out)
    assert nosignal["status"] == "COMPLETE"

    listing = json.loads(stoker("software", "deployment", "list", "--server", server["id"],
                                "--long", "-f", "json").out)
    assert [d["id"] for d in listing] == [deployment["id"], nosignal["id"]]
    assert "status_reason" in listing[0]

    meta = json.loads(stoker("software", "deployment", "metadata", "show", server["id"],
                             "-f", "json").out)
    assert [m["name"] for m in meta] == ["dep1", "dep2"] and meta[0]["group"] == "script"
    table = stoker("software", "deployment", "metadata", "show", server["id"])
    assert "dep1" in table.out and "deploy_signal_id" not in table.out

    # the agent's signal, then the outputs
    signal = stoker.http.put(inputs["deploy_signal_id"], json={
        "deploy_stdout": "hi ann\n", "deploy_stderr": "", "deploy_status_code": 0,
        "result": "done"}, timeout=10)
    assert signal.status_code == 200
    one = stoker("software", "deployment", "output", "show", deployment["id"], "result")
    assert one.code == 0 and one.out == "done\n"
    every = json.loads(stoker("software", "deployment", "output", "show", deployment["id"],
                              "--all", "-f", "json").out)
    assert every == {"result": "done"}
    long_all = json.loads(stoker("software", "deployment", "output", "show", deployment["id"],
                                 "--all", "--long", "-f", "json").out)
    assert long_all["deploy_stdout"] == "hi ann\n"
    absent = stoker("software", "deployment", "output", "show", deployment["id"], "nope")
    assert absent.code == NOT_FOUND and "outputs: deploy_" in absent.err

    # the source config is in use by neither deployment directly; deleting the deployment
    # removes only its own derived config
    assert stoker("software", "deployment", "delete", deployment["id"]).code == 0
    assert stoker("software", "config", "show", deployment["config_id"]).code == NOT_FOUND
    assert stoker("software", "config", "show", config["id"]).code == 0
    assert stoker("software", "deployment", "show", deployment["id"]).code == NOT_FOUND


@pytest.mark.timeout(30)
def test_deleting_a_config_in_use_is_a_conflict(stoker, config_files):
    config = _config(stoker, config_files)
    server = _server(stoker)["server"]
    # a Heat-style deployment that points at the config itself (no server-side derivation)
    response = stoker.http.post(f"{stoker.api}/software_deployments", json={
        "config_id": config["id"], "server_id": server["id"]}, timeout=10)
    assert response.status_code == 200
    refused = stoker("software", "config", "delete", config["id"])
    assert refused.code == CONFLICT and refused.err.startswith("stoker: error: ")
    both = stoker("software", "config", "delete", "no-such-id", config["id"])
    assert both.code == NOT_FOUND and len(both.err.splitlines()) == 2
    # deleting that deployment leaves the user's config alone (it is not a derived one)
    deployment_id = response.json()["software_deployment"]["id"]
    assert stoker("software", "deployment", "delete", deployment_id).code == 0
    assert stoker("software", "config", "show", config["id"]).code == 0


@pytest.mark.timeout(30)
def test_deployment_without_config_and_usage_errors(stoker):
    server = _server(stoker)["server"]
    created = stoker("software", "deployment", "create", "empty", "--server", server["id"],
                     "-f", "json")
    assert created.code == 0, created.err
    assert json.loads(created.out)["status"] == "IN_PROGRESS"
    pair = stoker("software", "deployment", "create", "d", "--server", "s", "--input-value", "x")
    assert pair.code == USAGE and "expected KEY=VALUE" in pair.err
    assert stoker("software", "deployment", "output", "show", "x").code == USAGE
    assert stoker("software").code == USAGE


@pytest.mark.timeout(30)
def test_as_a_process_exit_code_and_stderr(live_server):
    base, token, _ = live_server
    env = child_env(STOKER_URL=base, STOKER_TOKEN=token)
    ok = subprocess.run(stoker_argv("software", "config", "list", "-f", "json"), env=env,
                        cwd=REPO, capture_output=True, text=True, timeout=20)
    assert ok.returncode == 0 and json.loads(ok.stdout) == []
    missing = subprocess.run(stoker_argv("software", "deployment", "show", "nope"), env=env,
                             cwd=REPO, capture_output=True, text=True, timeout=20)
    assert missing.returncode == NOT_FOUND
    assert missing.stdout == "" and len(missing.stderr.splitlines()) == 1
    assert token not in missing.stderr


@pytest.mark.timeout(30)
def test_deployment_create_wait(stoker, config_files):
    config = _config(stoker, config_files)
    server = _server(stoker)["server"]
    done = stoker("software", "deployment", "create", "quick", "--server", server["id"],
                  "--config", config["id"], "--signal-transport", "NO_SIGNAL", "--wait",
                  "-f", "value", "-c", "status")
    assert done.code == 0 and done.out == "COMPLETE\n"
    slow = stoker("software", "deployment", "create", "slow", "--server", server["id"],
                  "--config", config["id"], "--wait", "--poll", "0.05", "--wait-timeout", "0.2")
    assert slow.code == WAIT_TIMEOUT
    assert "still IN_PROGRESS after 0.2 s; see `stoker deployment explain" in slow.err

    # an "agent" that fails the next deployment as soon as it exists
    def agent():
        while True:
            items = stoker.http.get(f"{stoker.api}/software_deployments/metadata/"
                                    f"{server['id']}", timeout=5).json()["metadata"]
            failing = [i for i in items if i["name"] == "failing"]
            if failing:
                inputs = {i["name"]: i.get("value") for i in failing[0]["inputs"]}
                stoker.http.post(inputs["deploy_signal_id"], json={
                    "deploy_stdout": "", "deploy_stderr": "boom", "deploy_status_code": 2},
                    timeout=5)
                return
    thread = threading.Thread(target=agent, daemon=True)
    thread.start()
    failed = stoker("software", "deployment", "create", "failing", "--server", server["id"],
                    "--config", config["id"], "--wait", "--poll", "0.05", "--wait-timeout", "20")
    thread.join(5)
    assert failed.code == WAIT_FAILED, failed.err
    assert "FAILED: deploy_status_code : Deployment exited with non-zero status code: 2" in \
        failed.err
    assert "stderr (last 1 lines):\n  boom\n" in failed.err
    assert failed.err.splitlines()[0].endswith(": IN_PROGRESS")


def test_every_command_documents_its_exit_codes(stoker):
    for argv in (("software", "config", "list"), ("stack", "create"), ("deployment", "explain"),
                 ("template", "validate")):
        shown = stoker(*argv, "--help")
        assert shown.code == 0
        assert "exit codes:" in shown.out and "8  --wait: gave up waiting" in shown.out
