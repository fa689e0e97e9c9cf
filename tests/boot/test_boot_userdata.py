"""user_data for SOFTWARE_CONFIG servers: pure checks (the real cloud-init runs are in
test_boot_nocloud.py)."""
from __future__ import annotations

import email
from pathlib import Path

import pytest
import yaml

from metadata_server.boot.units import agent_unit
from metadata_server.boot.userdata import (MERGE_HOW, AgentInstall, AgentSettings,
                                           BootConfigError, WheelhouseInstall,
                                           agent_config_text, bootstrap_script, cloud_config,
                                           cloud_config_text, user_data)

REPO = Path(__file__).resolve().parents[2]
SETTINGS = AgentSettings.from_agent_config(
    {"metadata_url": "http://10.0.0.1:8004/v1/t/servers/s1/metadata", "auth_token": "tok"})
REQUIREMENTS = (f"pip==26.3 \\\n    --hash=sha256:{'a' * 64}\n"
                f"stoker==0.1.0 \\\n    --hash=sha256:{'b' * 64}\n")
PINNED = WheelhouseInstall(
    "http://10.0.0.1:8004/wheelhouse/", REQUIREMENTS,
    "pip-26.3-py3-none-any.whl", "a" * 64, (("3.9", "x86_64"), ("3.13", "aarch64")))
INSTALL = AgentInstall(wheelhouse=PINNED)


def parts(text):
    message = email.message_from_string(text)
    assert message.is_multipart()
    return [(p.get_content_type(), p.get_filename(), p.get_payload(decode=True).decode())
            for p in message.walk() if not p.is_multipart()]


def test_one_cloud_config_part_with_config_unit_and_bootstrap():
    [(kind, name, payload)] = parts(user_data(SETTINGS, INSTALL))
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
    doc = cloud_config(SETTINGS, AgentInstall(venv="/srv/agent", wheelhouse=PINNED))
    unit = next(f for f in doc["write_files"] if f["path"].endswith("stoker-agent.service"))
    assert "ExecStart=/srv/agent/bin/stoker agent" in unit["content"]


@pytest.mark.parametrize("install, expected", [
    (AgentInstall(package="stoker>=0.1", index_url="https://pypi.example/simple"),
     "--upgrade --index-url https://pypi.example/simple 'stoker>=0.1'\n"),
    (AgentInstall(package="https://files.example/stoker-0.1.0-py3-none-any.whl",
                  index_url="https://pypi.org/simple"),
     "--index-url https://pypi.org/simple https://files.example/stoker-0.1.0-py3-none-any.whl\n"),
    (AgentInstall(no_index=True, find_links=("/media/wheels", "https://w.example/")),
     "--upgrade --no-index --find-links /media/wheels --find-links https://w.example/ stoker\n"),
])
def test_package_source_is_configurable_and_shell_quoted(install, expected):
    assert expected in bootstrap_script(install)


def test_bootstrap_skips_the_download_when_the_image_has_the_agent(tmp_path):
    import subprocess
    script = tmp_path / "bootstrap"
    venv = tmp_path / "venv"
    script.write_text(bootstrap_script(AgentInstall(venv=str(venv), wheelhouse=PINNED))
                      .replace("ln -sf", "echo ln -sf").replace("command -v systemctl", "false"))
    (venv / "bin").mkdir(parents=True)
    (venv / "bin/stoker").write_text("#!/bin/sh\n")
    (venv / "bin/stoker").chmod(0o755)
    done = subprocess.run(["sh", str(script)], capture_output=True, text=True, timeout=20)
    assert done.returncode == 0, done.stderr
    assert "already installed" in done.stdout
    syntax = subprocess.run(["sh", "-n", str(script)], capture_output=True, text=True)
    assert syntax.returncode == 0


def test_wheelhouse_install_pins_every_file_and_names_no_index():
    script = bootstrap_script(INSTALL)
    assert "<<'STOKER_REQUIREMENTS'\n" + REQUIREMENTS + "STOKER_REQUIREMENTS\n" in script
    assert ('--no-index --find-links "$WHEELHOUSE" --require-hashes' in script
            and "WHEELHOUSE=http://10.0.0.1:8004/wheelhouse/\n" in script)
    # pip is checked against its pinned hash before it runs; the venv needs no ensurepip
    assert f'"$WORK/pip-26.3-py3-none-any.whl" \\\n  {"a" * 64} ' in script
    assert "python3 -m venv --without-pip" in script
    assert "pypi" not in script.lower() and "apt-get" not in script


def test_wheelhouse_install_refuses_a_python_it_has_no_wheels_for(tmp_path):
    import subprocess
    import sys
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "python3").symlink_to(sys.executable)
    install = AgentInstall(venv=str(tmp_path / "venv"), wheelhouse=PINNED)
    done = subprocess.run(["sh", "-c", bootstrap_script(install)], capture_output=True,
                          text=True, timeout=30, env={"PATH": f"{bin_dir}:/usr/bin:/bin"})
    here = f"{sys.version_info[0]}.{sys.version_info[1]}"
    assert done.returncode != 0
    assert (f"no wheels for Python {here} on" in done.stderr
            and "it has 3.9/x86_64, 3.13/aarch64" in done.stderr), done.stderr
    assert not (tmp_path / "venv").exists()


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
    # no index named: never PyPI by default, where anyone may publish a `stoker`
    (lambda: bootstrap_script(AgentInstall()), "STOKER_AGENT_INDEX_URL"),
    (lambda: bootstrap_script(AgentInstall(package="stoker==1", find_links=("/w",))),
     "STOKER_AGENT_INDEX_URL"),
    (lambda: bootstrap_script(AgentInstall(wheelhouse=WheelhouseInstall(
        "http://h/wheelhouse/", "stoker==1\n", "pip.whl", "a" * 64, ()))), "hash-pinned"),
    (lambda: bootstrap_script(AgentInstall(wheelhouse=WheelhouseInstall(
        "http://h/w/'; rm -rf /;'/", PINNED.requirements, "pip.whl", "a" * 64, ()))), "url"),
    (lambda: bootstrap_script(AgentInstall(wheelhouse=WheelhouseInstall(
        "file:///etc/", PINNED.requirements, "pip.whl", "a" * 64, ()))), "http"),
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
        found = parts(user_data(SETTINGS, INSTALL, user_data=raw))
        assert [p[0] for p in found] == [kind, "text/cloud-config"]
        assert found[0][2] == raw and found[1][1] == "stoker-agent.cfg"


def test_users_multipart_parts_are_kept_in_order():
    theirs = user_data(SETTINGS, INSTALL, user_data="#!/bin/sh\necho one\n")   # any MIME will do
    combined = parts(user_data(AgentSettings("http://other/m", "t2"), INSTALL, user_data=theirs))
    assert [p[0] for p in combined] == ["text/x-shellscript", "text/cloud-config",
                                        "text/cloud-config"]
    assert "http://other/m" in combined[2][2] and "http://other/m" not in combined[1][2]


def test_rendered_text_is_readable_yaml():
    text = cloud_config_text(SETTINGS, INSTALL)
    assert "content: |\n    [DEFAULT]\n" in text     # block scalars, not escaped one-liners
    assert yaml.safe_load(text) == cloud_config(SETTINGS, INSTALL)


def test_metrics_option_turns_the_agents_metrics_on_as_the_agent_reads_it(tmp_path):
    from agent import settings as agent_settings
    from collector import config as collector_config
    on = AgentSettings.from_agent_config(
        {"metadata_url": "http://10.0.0.1:8004/v1/t/servers/s1/metadata", "auth_token": "tok"},
        metrics_interval=15)
    files = {f["path"]: f for f in cloud_config(on, INSTALL)["write_files"]}
    conf = tmp_path / "os-collect-config.conf"
    conf.write_text(files["/etc/os-collect-config.conf"]["content"])
    own = agent_settings.load(str(conf))
    assert (own.metrics, own.metrics_interval, own.metrics_batch) == (True, 15.0, 15.0)
    # the collectors still read the same file (their [agent] section is ignored)
    parsed = collector_config.load(str(conf))
    assert parsed.collectors == ("watch",) and parsed.settings["watch"]["auth_token"] == "tok"
    # without the option the agent's own default stays: metrics off, no [agent] section
    conf.write_text(agent_config_text(SETTINGS))
    assert agent_settings.load(str(conf)).metrics is False and "[agent]" not in conf.read_text()


@pytest.mark.parametrize("interval", [0, -1, float("inf"), float("nan"), True, "10"])
def test_a_bad_metrics_interval_is_refused_by_name(interval):
    with pytest.raises(BootConfigError, match="agent metrics interval"):
        agent_config_text(AgentSettings("http://h/m", "t", metrics_interval=interval))
