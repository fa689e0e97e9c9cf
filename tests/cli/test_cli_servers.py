"""`stoker server register|list|show|rotate|delete` against a real server, beside `stoker server`
running the server itself; and deployments to servers stoker does not know."""
from __future__ import annotations

import email
import json
import stat

import pytest
import requests
import yaml

from cli.main import build_parser
from cli.operator.errors import AUTH, NOT_FOUND, USAGE


def _config(text: str) -> dict[str, str]:
    """The [watch] section of an agent config."""
    section, found = None, {}
    for line in text.splitlines():
        if line.startswith("["):
            section = line.strip("[]")
        elif "=" in line and section == "watch":
            key, _, value = line.partition("=")
            found[key.strip()] = value.strip()
    return found


def _poll(config: dict[str, str]) -> int:
    """What the agent does: fetch its metadata with its token (the server notes it as seen)."""
    return requests.get(config["metadata_url"], timeout=10,
                        headers={"X-Auth-Token": config["auth_token"]}).status_code


@pytest.mark.parametrize("argv, action", [
    (["server", "--bind", "127.0.0.1:0", "--state-dir", "/x"], None),
    (["server"], None),
    (["server", "list"], "list"), (["server", "show", "vm"], "show"),
    (["server", "register", "vm"], "register"), (["server", "rotate", "vm"], "rotate"),
    (["server", "delete", "vm", "-y"], "delete"), (["server", "rotate-key"], "rotate-key"),
])
def test_server_actions_coexist_with_running_the_server(argv, action):
    args = build_parser("server").parse_args(argv)
    assert args.server_action == action
    if action is None:
        assert args.func.__name__ == "run"      # no action: `stoker server` runs the server


@pytest.mark.timeout(60)
def test_register_prints_a_working_config_list_show_rotate_delete(stoker):
    registered = stoker("server", "register", "web-1")
    assert registered.code == 0, registered.err
    config = _config(registered.out)
    server_id = config["metadata_url"].rsplit("/servers/", 1)[1].split("/")[0]
    assert registered.out.startswith("[DEFAULT]\ncollectors = watch\n")

    listed = json.loads(stoker("server", "list", "-f", "json").out)
    assert listed == [{"id": server_id, "name": "web-1", "last_seen": "never", "phase": "idle",
                       "deployments": "none"}]
    assert _poll(config) == 200
    shown = json.loads(stoker("server", "show", "web-1", "-f", "json").out)
    assert shown["id"] == server_id and shown["last_seen"].endswith(" ago)")
    listed_seen = json.loads(stoker("server", "list", "-f", "json").out)[0]["last_seen"]
    assert listed_seen.split(" (")[0] == shown["last_seen"].split(" (")[0]   # the same time

    deployed = stoker("software", "deployment", "create", "d", "--server", server_id,
                      "-f", "json")
    assert deployed.code == 0, deployed.err
    row = json.loads(stoker("server", "list", "-f", "json").out)[0]
    assert row["deployments"] == "1 IN_PROGRESS" and row["phase"] == "waiting for the agent"

    rotated = stoker("server", "rotate", server_id)
    assert rotated.code == 0, rotated.err
    fresh = _config(rotated.out)
    assert fresh["auth_token"] != config["auth_token"]
    assert _poll(config) in (401, 403) and _poll(fresh) == 200

    assert stoker("server", "delete", "web-1", "-y").code == 0
    gone = stoker("server", "show", "web-1")
    assert gone.code == NOT_FOUND and "not registered" in gone.err


@pytest.mark.timeout(60)
def test_register_writes_config_and_user_data_0600_with_install_options(stoker, tmp_path):
    own = tmp_path / "mine.yaml"
    own.write_text("#cloud-config\npackage_update: true\n")
    result = stoker("server", "register", "web-2", "--config-file", str(tmp_path / "agent.conf"),
                    "--user-data", str(tmp_path / "user-data"), "--append-user-data", str(own),
                    "--agent-index-url", "https://pypi.internal/simple", "--agent-package",
                    "stoker==1.2.3", "-f", "json")
    assert result.code == 0, result.err
    issued = json.loads(result.out)
    assert issued["server"]["name"] == "web-2"
    for name in ("agent.conf", "user-data"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600
    config = (tmp_path / "agent.conf").read_text()
    assert _config(config)["auth_token"] == issued["agent_config"]["auth_token"]
    parts = [p for p in email.message_from_string((tmp_path / "user-data").read_text()).walk()
             if not p.is_multipart()]
    assert "package_update: true" in parts[0].get_payload(decode=True).decode()  # theirs first
    ours = yaml.safe_load(parts[-1].get_payload(decode=True).decode())
    files = {f["path"]: f for f in ours["write_files"]}
    assert files["/etc/os-collect-config.conf"]["content"] == config
    script = files["/usr/local/sbin/stoker-bootstrap"]["content"]
    assert "https://pypi.internal/simple" in script and "stoker==1.2.3" in script


@pytest.mark.timeout(60)
def test_user_data_from_the_servers_wheelhouse_pins_its_hashes(stoker, tmp_path):
    manifest = {"key": "k", "agent": "stoker-1-py3-none-any.whl",
                "pip": "pip-24.0-py3-none-any.whl", "targets": ["cp3.11-x86_64"],
                "files": {"pip-24.0-py3-none-any.whl": {"sha256": "ab" * 32, "size": 1,
                                                        "targets": ["cp3.11-x86_64"]}},
                "requirements": "stoker==1 --hash=sha256:" + "cd" * 32 + "\n"}
    refused = stoker("server", "register", "web-3", "--user-data", str(tmp_path / "ud"))
    assert refused.code == NOT_FOUND and "stoker wheelhouse" in refused.err
    assert not (tmp_path / "ud").exists()
    assert json.loads(stoker("server", "list", "-f", "json").out) == []   # nothing registered

    wheelhouse = stoker.state_dir / "wheelhouse"
    wheelhouse.mkdir(exist_ok=True)
    (wheelhouse / "manifest.json").write_text(json.dumps(manifest))
    try:
        done = stoker("server", "register", "web-3", "--user-data", str(tmp_path / "ud"))
    finally:
        (wheelhouse / "manifest.json").unlink()
    assert done.code == 0, done.err
    text = (tmp_path / "ud").read_text()
    ours = [p for p in email.message_from_string(text).walk() if not p.is_multipart()][-1]
    script = {f["path"]: f for f in yaml.safe_load(ours.get_payload(decode=True).decode())[
        "write_files"]}["/usr/local/sbin/stoker-bootstrap"]["content"]
    assert f"WHEELHOUSE={stoker.base}/wheelhouse/" in script
    assert "ab" * 32 in script and "cd" * 32 in script


@pytest.mark.timeout(60)
def test_deployments_to_unregistered_servers_are_refused_unless_allowed(stoker):
    server_id = json.loads(stoker("server", "register", "db", "-f", "json").out)["server"]["id"]
    unknown = stoker("software", "deployment", "create", "d", "--server", "no-such-server")
    assert unknown.code == NOT_FOUND
    assert "not registered" in unknown.err and "--allow-unregistered" in unknown.err
    by_name = stoker("software", "deployment", "create", "d", "--server", "db")
    assert by_name.code == USAGE and f"--server {server_id}" in by_name.err
    assert json.loads(stoker("software", "deployment", "list", "-f", "json").out) == []

    allowed = stoker("software", "deployment", "create", "d", "--server", "no-such-server",
                     "--allow-unregistered", "-f", "json")
    assert allowed.code == 0, allowed.err
    listed = json.loads(stoker("software", "deployment", "list", "--long", "-f", "json").out)
    assert [r["server_name"] for r in listed] == ["(not registered)"]
    deployment = json.loads(allowed.out)["id"]
    explained = stoker("deployment", "explain", deployment, "-f", "json")
    assert "not registered with stoker" in json.loads(explained.out)["server"]


def test_a_wrong_token_is_refused_before_any_registration(stoker, monkeypatch):
    monkeypatch.setenv("STOKER_TOKEN", "wrong")
    assert stoker("server", "register", "x").code == AUTH


def test_register_with_metrics_writes_the_agents_metrics_on(stoker, tmp_path):
    from agent import settings as agent_settings
    result = stoker("server", "register", "web-m", "--agent-metrics", "15", "--config-file",
                    str(tmp_path / "agent.conf"), "--user-data", str(tmp_path / "user-data"),
                    "--agent-index-url", "https://pypi.internal/simple")
    assert result.code == 0, result.err
    own = agent_settings.load(str(tmp_path / "agent.conf"))
    assert (own.metrics, own.metrics_interval, own.metrics_batch) == (True, 15.0, 15.0)
    ours = [p for p in email.message_from_string((tmp_path / "user-data").read_text()).walk()
            if not p.is_multipart()][-1]
    files = {f["path"]: f for f in yaml.safe_load(ours.get_payload(decode=True).decode())["write_files"]}
    assert files["/etc/os-collect-config.conf"]["content"] == (tmp_path / "agent.conf").read_text()
    # without a value: the agent's default interval; without the option: no [agent] section
    printed = stoker("server", "register", "web-n", "--agent-metrics")
    assert printed.code == 0 and "[agent]\nmetrics = on\nmetrics_interval = 60\n" in printed.out
    assert "[agent]" not in stoker("server", "register", "web-o").out
    refused = stoker("server", "register", "web-p", "--agent-metrics", "0")
    assert refused.code != 0 and "--agent-metrics" in refused.err and "above 0" in refused.err
