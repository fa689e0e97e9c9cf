"""user_data for SOFTWARE_CONFIG servers: pure checks (the real cloud-init runs are in
test_boot_nocloud.py)."""
from __future__ import annotations

import email
from pathlib import Path

import pytest
import yaml

from metadata_server.boot.units import agent_unit
from metadata_server.boot.userdata import (MERGE_HOW, AgentInstall, AgentSettings,
                                           BootConfigError, agent_config_text, bootstrap_script,
                                           cloud_config, cloud_config_text, user_data)

REPO = Path(__file__).resolve().parents[2]
SETTINGS = AgentSettings.from_agent_config(
    {"metadata_url": "http://10.0.0.1:8004/v1/t/servers/s1/metadata", "auth_token": "tok"})


def parts(text):
    message = email.message_from_string(text)
    assert message.is_multipart()
    return [(p.get_content_type(), p.get_filename(), p.get_payload(decode=True).decode())
            for p in message.walk() if not p.is_multipart()]


def test_one_cloud_config_part_with_config_unit_and_bootstrap():
    [(kind, name, payload)] = parts(user_data(SETTINGS))
    assert (kind, name) == ("text/cloud-config", "stoker-agent.cfg")
    assert payload.startswith("#cloud-config\n")
    doc = yaml.safe_load(payload)
    assert doc["merge_how"] == MERGE_HOW
    files = {f["path"]: f for f in doc["write_files"]}
    conf = files["/etc/os-collect-config.conf"]
    assert conf["permissions"] == "0600" and conf["owner"] == "root:root"
    assert conf["content"] == agent_config_text(SETTINGS)
    assert files["/usr/local/sbin/stoker-bootstrap"]["permissions"] == "0700"
    assert doc["runcmd"] == [["/usr/local/sbin/stoker-bootstrap"]]
    # the token appears once: in the agent's config file
    assert payload.count("tok\n") == 1


def test_agent_config_matches_the_protocol_format():
    assert agent_config_text(AgentSettings("http://h/m", "t", polling_interval=10,
                                           min_polling_interval=0.5)) == (
        "[DEFAULT]\ncollectors = watch\npolling_interval = 10\nmin_polling_interval = 0.5\n\n"
        "[watch]\nmetadata_url = http://h/m\nauth_token = t\n")


def test_the_unit_in_user_data_is_the_shipped_unit():
    assert agent_unit() == (REPO / "systemd/stoker-agent.service").read_text()
    doc = cloud_config(SETTINGS, AgentInstall(venv="/srv/agent"))
    unit = next(f for f in doc["write_files"] if f["path"].endswith("stoker-agent.service"))
    assert "ExecStart=/srv/agent/bin/stoker agent" in unit["content"]


@pytest.mark.parametrize("install, expected", [
    (AgentInstall(), "--upgrade stoker\n"),
    (AgentInstall(package="stoker>=0.1", index_url="https://pypi.example/simple"),
     "--upgrade --index-url https://pypi.example/simple 'stoker>=0.1'\n"),
    (AgentInstall(package="https://files.example/stoker-0.1.0-py3-none-any.whl"),
     "--upgrade https://files.example/stoker-0.1.0-py3-none-any.whl\n"),
    (AgentInstall(no_index=True, find_links=("/media/wheels", "https://w.example/")),
     "--upgrade --no-index --find-links /media/wheels --find-links https://w.example/ stoker\n"),
])
def test_package_source_is_configurable_and_shell_quoted(install, expected):
    assert expected in bootstrap_script(install)


def test_bootstrap_skips_the_download_when_the_image_has_the_agent(tmp_path):
    import subprocess
    script = tmp_path / "bootstrap"
    venv = tmp_path / "venv"
    script.write_text(bootstrap_script(AgentInstall(venv=str(venv), package="/nonexistent.whl"))
                      .replace("ln -sf", "echo ln -sf").replace("command -v systemctl", "false"))
    (venv / "bin").mkdir(parents=True)
    (venv / "bin/stoker").write_text("#!/bin/sh\n")
    (venv / "bin/stoker").chmod(0o755)
    done = subprocess.run(["sh", str(script)], capture_output=True, text=True, timeout=20)
    assert done.returncode == 0, done.stderr
    assert "already installed" in done.stdout
    syntax = subprocess.run(["sh", "-n", str(script)], capture_output=True, text=True)
    assert syntax.returncode == 0


def test_install_settings_from_the_environment():
    install = AgentInstall.from_env({"STOKER_AGENT_PACKAGE": "stoker==2",
                                     "STOKER_AGENT_FIND_LINKS": "/a /b",
                                     "STOKER_AGENT_NO_INDEX": "1"})
    assert install == AgentInstall(package="stoker==2", find_links=("/a", "/b"), no_index=True)
    assert AgentInstall.from_env({}) == AgentInstall()


@pytest.mark.parametrize("make, message", [
    (lambda: bootstrap_script(AgentInstall(package="x\nrm -rf /")), "package"),
    (lambda: bootstrap_script(AgentInstall(venv="relative")), "absolute path"),
    (lambda: bootstrap_script(AgentInstall(no_index=True)), "find_links"),
    (lambda: agent_config_text(AgentSettings("http://h/m", "t\n[x]")), "auth_token"),
])
def test_bad_settings_are_refused_by_name(make, message):
    with pytest.raises(BootConfigError, match=message):
        make()


def test_users_raw_user_data_comes_first_with_its_type():
    for raw, kind in (("#cloud-config\nruncmd: [ls]\n", "text/cloud-config"),
                      ("#!/bin/sh\necho hi\n", "text/x-shellscript"),
                      ("#cloud-boothook\necho\n", "text/cloud-boothook"),
                      ("just text\n", "text/plain")):
        found = parts(user_data(SETTINGS, user_data=raw))
        assert [p[0] for p in found] == [kind, "text/cloud-config"]
        assert found[0][2] == raw and found[1][1] == "stoker-agent.cfg"


def test_users_multipart_parts_are_kept_in_order():
    theirs = user_data(SETTINGS, user_data="#!/bin/sh\necho one\n")   # any MIME will do
    combined = parts(user_data(AgentSettings("http://other/m", "t2"), user_data=theirs))
    assert [p[0] for p in combined] == ["text/x-shellscript", "text/cloud-config",
                                        "text/cloud-config"]
    assert "http://other/m" in combined[2][2] and "http://other/m" not in combined[1][2]


def test_rendered_text_is_readable_yaml():
    text = cloud_config_text(SETTINGS)
    assert "content: |\n    [DEFAULT]\n" in text     # block scalars, not escaped one-liners
    assert yaml.safe_load(text) == cloud_config(SETTINGS)
