"""Secrets at rest: the state directory and its files are the server user's alone, the server
refuses to start on a directory others can read, and the signing key can be rotated without
breaking URLs already handed out until their grace period ends."""
from __future__ import annotations

import os
import stat
import subprocess
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from cli.processes import Process, ProcessFailed, child_env, stoker_argv
from tests.server import conftest as server_fixtures

app, api, make_server, make_config = (server_fixtures.app, server_fixtures.api,
                                      server_fixtures.make_server, server_fixtures.make_config)


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


# -- rotation, in process, on every database ---------------------------------------------------
@pytest.fixture
def rotate(app, clock):
    from metadata_server.service import signing_keys

    def rotate(grace: timedelta):
        return signing_keys.rotate(app.extensions["stoker"].store, clock.now, grace)
    return rotate


def _signal_url(api, make_config, server_id: str) -> str:
    response = api.post("/v1/t1/software_deployments", {
        "config_id": make_config()["id"], "server_id": server_id,
        "signal_transport": "TEMP_URL_SIGNAL"})
    assert response.status_code == 200, response.json
    derived = api.get(f"/v1/t1/software_configs/"
                      f"{response.json['software_deployment']['config_id']}").json
    values = {i["name"]: i.get("value") for i in derived["software_config"]["inputs"]}
    return values["deploy_signal_id"].removeprefix("http://stoker.test")


def _get_signed(api, url: str):
    return api.as_(None).get(url.removeprefix("http://stoker.test"))


def test_urls_signed_before_a_rotation_work_until_the_grace_ends(api, make_server, make_config,
                                                                  rotate, clock):
    registered = make_server(id="srv-rot")
    metadata_url = registered["os-collect-config"]["request"]["metadata_url"]
    before = _get_signed(api, metadata_url)
    assert before.status_code == 200
    early, late = (_signal_url(api, make_config, "srv-rot") for _ in range(2))

    rotation = rotate(timedelta(minutes=10))
    assert rotation.new != rotation.previous
    # within the grace period: the old metadata URL and a deployment's old signal URL
    assert _get_signed(api, metadata_url).status_code == 200
    assert api.as_(None).put(early, {"deploy_status_code": 0}).status_code == 200
    # the document now hands out a URL signed with the new key, under a new ETag
    fresh = _get_signed(api, metadata_url)
    new_url = fresh.json["os-collect-config"]["request"]["metadata_url"]
    assert new_url != metadata_url and fresh.headers["ETag"] != before.headers["ETag"]
    new_signal = _signal_url(api, make_config, "srv-rot")

    clock.now += timedelta(minutes=11)
    refused = _get_signed(api, metadata_url)
    assert refused.status_code == 403
    assert "not valid" in refused.json["error"]["message"]
    assert api.as_(None).put(late, {"deploy_status_code": 0}).status_code == 403
    assert _get_signed(api, new_url).status_code == 200
    assert api.as_(None).put(new_signal, {"deploy_status_code": 0}).status_code == 200


def test_keystone_tokens_signed_before_a_rotation_last_the_grace(app, api, make_server, rotate,
                                                                 clock):
    from metadata_server.service.credential_cache import CredentialCache

    registered = make_server(id="srv-ks")
    response = api.as_(None).post("/v3/auth/tokens", {"auth": {"identity": {
        "methods": ["password"], "password": {"user": {
            "id": "srv-ks", "password": registered["credential"]["token"]}}}}})
    assert response.status_code == 201, response.json
    token = response.headers["X-Subject-Token"]
    rotate(timedelta(minutes=5))
    assert api.as_(token).get("/v1/t1/servers/srv-ks/metadata").status_code == 200
    clock.now += timedelta(minutes=6)
    # a poll's credential is cached for up to a minute of real time (documented); the fake
    # clock does not move that, so the test starts from an empty cache as a minute later would
    app.extensions["stoker"].credentials = CredentialCache()
    assert api.as_(token).get("/v1/t1/servers/srv-ks/metadata").status_code == 401


def test_a_rotation_without_grace_retires_every_old_key(api, make_server, rotate):
    metadata_url = make_server(id="srv-leak")["os-collect-config"]["request"]["metadata_url"]
    rotate(timedelta(hours=1))
    second = _get_signed(api, metadata_url).json["os-collect-config"]["request"]["metadata_url"]
    assert _get_signed(api, metadata_url).status_code == 200  # the first key, in its grace
    rotate(timedelta(0))  # a leak: neither earlier key may sign anything any more
    assert _get_signed(api, metadata_url).status_code == 403
    assert _get_signed(api, second).status_code == 403
    third = _get_signed(api, metadata_url.replace("sig=", "sig=x"))
    assert third.status_code == 403


def test_two_rotations_keep_both_previous_keys_in_their_grace(api, make_server, rotate, clock):
    first = make_server(id="srv-two")["os-collect-config"]["request"]["metadata_url"]
    rotate(timedelta(minutes=30))
    second = _get_signed(api, first).json["os-collect-config"]["request"]["metadata_url"]
    clock.now += timedelta(minutes=10)
    rotate(timedelta(minutes=30))
    assert _get_signed(api, first).status_code == 200
    assert _get_signed(api, second).status_code == 200
    clock.now += timedelta(minutes=25)  # the first rotation's grace is over, not the second's
    assert _get_signed(api, first).status_code == 403
    assert _get_signed(api, second).status_code == 200


@pytest.mark.timeout(60)
@pytest.mark.parametrize("handle", ["AWS::CloudFormation::WaitConditionHandle",
                                    "OS::Heat::WaitConditionHandle"])
def test_a_wait_condition_url_lasts_the_grace(app, api, rotate, clock, handle):
    from tests.waiting import until

    attribute = {"get_resource": "handle"} if handle.startswith("AWS") else \
        {"get_attr": ["handle", "endpoint"]}
    response = api.post("/v1/t1/stacks", {"stack_name": "rot", "template": {
        "heat_template_version": "2018-08-31",
        "resources": {"handle": {"type": handle}},
        "outputs": {"url": {"value": attribute}}}})
    assert response.status_code == 201, response.json
    engine = app.extensions["stoker-engine"]
    stack = engine.wait(response.json["stack"]["id"], 30)
    url = until(lambda: (lambda v: v if str(v).startswith("http") else None)(
        engine.outputs(stack, "url")[0].get("output_value")), 10, "the handle URL", pause=0.01)
    path = url.removeprefix("http://stoker.test")
    body = ({"Status": "SUCCESS", "Reason": "r", "UniqueId": "1", "Data": "d"}
            if handle.startswith("AWS") else {"status": "SUCCESS", "id": "1"})
    send = api.as_(None).put if handle.startswith("AWS") else api.as_(None).post
    rotate(timedelta(minutes=10))
    assert send(path, body).status_code == 200
    clock.now += timedelta(minutes=11)
    assert send(path, body).status_code == 403


@pytest.mark.parametrize("signature", ["é" * 64, "\u00ff", "%ZZ", ""])
def test_odd_signatures_are_refused_not_errors(api, make_server, signature):
    registered = make_server(id="srv-odd")
    url = urlsplit(registered["os-collect-config"]["request"]["metadata_url"])
    response = api.as_(None).client.get(url.path, query_string={"sig": signature})
    assert response.status_code == 403
    token = "stk-ks.e30." + signature  # a keystone-shaped token with a non-ASCII signature
    assert api.as_(token.encode().decode("latin-1")).get(
        "/v1/t1/servers/srv-odd/metadata").status_code == 401


# -- the state directory, with the real `stoker server` ----------------------------------------
def _umask_argv(umask: str, *args: str) -> list[str]:
    return ["/bin/sh", "-c", f'umask {umask} && exec "$@"', "sh", *stoker_argv(*args)]


def _env() -> dict[str, str]:
    env = child_env()
    env.pop("STOKER_ADMIN_TOKEN", None)
    return env


@pytest.mark.timeout(90)
@pytest.mark.parametrize("umask", ["000", "022"])
def test_state_is_private_whatever_the_umask_and_a_running_server_follows_a_rotation(
        tmp_path, umask):
    import requests

    state = tmp_path / "made-here" / "state"
    server = Process("server", _umask_argv(umask, "server", "--bind", "127.0.0.1:0",
                                            "--state-dir", str(state)),
                     tmp_path / "server.log", _env())
    try:
        base = server.wait_for_line("listening on", 30).rsplit(" ", 1)[1]
        token = next(line for line in server.lines if line.startswith("admin token"))
        http = requests.Session()
        http.headers["X-Auth-Token"] = token.rsplit(" ", 1)[1]
        registered = http.post(f"{base}/v1/t1/servers", json={"name": "vm"}, timeout=10)
        assert registered.status_code == 201, registered.text
        assert _mode(state) == 0o700
        for name in ("stoker.db", "stoker.db-wal", "stoker.db-shm", "admin-token"):
            assert _mode(state / name) == 0o600, name

        url = registered.json()["os-collect-config"]["request"]["metadata_url"]
        rotated = subprocess.run(_umask_argv(umask, "server", "rotate-key", "--state-dir",
                                             str(state), "--grace", "600"),
                                 capture_output=True, text=True, env=_env(), timeout=60)
        assert rotated.returncode == 0, rotated.stderr
        assert "accepted until" in rotated.stdout and "signing key rotated" in rotated.stdout
        old = requests.get(url, timeout=10)
        assert old.status_code == 200  # in its grace period
        new_url = old.json()["os-collect-config"]["request"]["metadata_url"]
        assert new_url != url  # the running server signs with the new key at once
        retired = subprocess.run(stoker_argv("server", "rotate-key", "--state-dir", str(state),
                                             "--grace", "0"),
                                 capture_output=True, text=True, env=_env(), timeout=60)
        assert retired.returncode == 0, retired.stderr
        assert requests.get(url, timeout=10).status_code == 403
    except ProcessFailed:
        pytest.fail(server.log())
    finally:
        assert server.stop() == 0


@pytest.mark.parametrize("target, mode, fix", [
    ("", 0o755, "chmod 700"),
    ("", 0o750, "chmod 700"),
    ("", 0o701, "chmod 700"),
    ("admin-token", 0o644, "chmod 600"),
    ("admin-token", 0o660, "chmod 600"),
])
@pytest.mark.parametrize("command", [(), ("rotate-key",)])
def test_refuses_a_state_directory_others_can_reach(tmp_path, target, mode, fix, command):
    state = tmp_path / "state"
    state.mkdir(mode=0o700)
    (state / "admin-token").write_text("secret-admin-token\n")
    os.chmod(state / "admin-token", 0o600)
    path = state / target if target else state
    os.chmod(path, mode)
    argv = ["server", *command, "--state-dir", str(state)]
    result = subprocess.run(stoker_argv(*argv), capture_output=True, text=True, env=_env(),
                            timeout=60)
    assert result.returncode == 1
    [line] = result.stderr.strip().splitlines()
    assert "refusing to" in line and str(path) in line and f"`{fix} {path}`" in line
    assert f"{mode:04o}" in line
    assert not (state / "stoker.db").exists()  # nothing was read or made


def test_an_older_database_file_is_made_private(tmp_path):
    from metadata_server.state_dir import prepare

    state = tmp_path / "state"
    state.mkdir(mode=0o700)
    for name in ("stoker.db", "stoker.db-wal"):
        (state / name).write_bytes(b"")
        os.chmod(state / name, 0o644)
    prepare(state, state / "stoker.db")
    assert _mode(state / "stoker.db") == _mode(state / "stoker.db-wal") == 0o600
