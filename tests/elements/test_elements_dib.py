"""The diskimage-builder elements: resolved by diskimage-builder itself (installed from PyPI into
a temp venv), shaped as DIB runs them, and their os-apply-config templates and os-refresh-config
script exercised with stoker's own drop-in commands."""
from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from collector.config import parse as parse_agent_config

REPO = Path(__file__).resolve().parents[2]
ELEMENTS = REPO / "elements"
OURS = ["stoker-agent", "stoker-heat-config"]
DIB_RUN_PARTS_NAME = re.compile(r"^[0-9A-Za-z_-]+$")   # what dib-run-parts runs; others skipped


def resolve(dib, *elements, env_output=False):
    python, builtin = dib
    argv = [str(python), "-m", "diskimage_builder.element_dependencies"]
    argv += (["--env"] if env_output else []) + list(elements)
    return subprocess.run(argv, capture_output=True, text=True, timeout=60,
                          env=dict(os.environ, ELEMENTS_PATH=f"{ELEMENTS}:{builtin}"))


@pytest.mark.timeout(300)
def test_diskimage_builder_resolves_our_elements(dib):
    done = resolve(dib, "stoker-heat-config", "debian-minimal")
    assert done.returncode == 0, done.stderr
    resolved = set(done.stdout.split())
    assert {"stoker-heat-config", "stoker-agent", "package-installs", "debian-minimal",
            "dpkg"} <= resolved
    env = resolve(dib, "stoker-agent", "debian-minimal", env_output=True)
    assert env.returncode == 0, env.stderr
    quoted = env.stdout.split("IMAGE_ELEMENT_YAML='", 1)[1].split("'", 1)[0]   # multi-line
    paths = yaml.safe_load(quoted)
    assert paths["stoker-agent"] == str(ELEMENTS / "stoker-agent")
    # and the resolver does refuse what it cannot find, so the checks above mean something
    missing = resolve(dib, "stoker-no-such-element", "debian-minimal")
    assert missing.returncode != 0 and "stoker-no-such-element" in missing.stderr


@pytest.mark.parametrize("element", OURS)
def test_element_files_are_what_dib_expects(element):
    root = ELEMENTS / element
    assert (root / "README.rst").read_text().startswith("=")
    deps = (root / "element-deps").read_text().split()
    assert deps and all(re.fullmatch(r"[a-z0-9-]+", d) for d in deps)
    hooks = [p for p in (root / "install.d").iterdir() if DIB_RUN_PARTS_NAME.match(p.name)]
    assert hooks, "no install.d hook that dib-run-parts would run"
    for hook in hooks:
        assert hook.stat().st_mode & stat.S_IXUSR, f"{hook} is not executable"
        assert hook.read_text().startswith("#!/bin/bash\n")
        done = subprocess.run(["bash", "-n", str(hook)], capture_output=True, text=True)
        assert done.returncode == 0, done.stderr


def test_package_installs_and_pkg_map_parse():
    packages = yaml.safe_load((ELEMENTS / "stoker-agent/package-installs.yaml").read_text())
    assert set(packages) == {"python3", "python3-venv", "ca-certificates"}
    pkg_map = json.loads((ELEMENTS / "stoker-agent/pkg-map").read_text())
    assert pkg_map["family"]["redhat"]["python3-venv"] == "python3"


def test_the_element_ships_the_same_unit_as_systemd_dir():
    assert (ELEMENTS / "stoker-agent/install.d/stoker-agent.service").read_text() == \
        (REPO / "systemd/stoker-agent.service").read_text()


def test_orc_scripts_are_executable_and_compile():
    configure = ELEMENTS / "stoker-heat-config/os-refresh-config/configure.d"
    names = sorted(p.name for p in configure.iterdir())
    assert names == ["20-os-apply-config", "55-stoker-heat-config"]
    for script in configure.iterdir():
        assert script.stat().st_mode & stat.S_IXUSR
    compile((configure / "55-stoker-heat-config").read_text(), "55-stoker-heat-config", "exec")


def _apply(tmp_path, metadata):
    meta = tmp_path / "meta.json"
    meta.write_text(json.dumps(metadata))
    out = tmp_path / "out"
    out.mkdir(exist_ok=True)
    done = subprocess.run([sys.executable, "-c", "import sys; from applier.cli import main; "
                           "sys.exit(main())", "-t",
                           str(ELEMENTS / "stoker-heat-config/os-apply-config"), "-o", str(out),
                           "-m", str(meta)], capture_output=True, text=True, timeout=30,
                          cwd=REPO, env=dict(os.environ, PYTHONPATH=str(REPO)))
    assert done.returncode == 0, done.stderr
    return out


CFN = {"metadata_url": "http://stoker.example:8004/v1/", "access_key_id": "AKID",
       "secret_access_key": "SECRET", "stack_name": "st", "path": "server.Metadata"}


def test_templates_render_a_config_stokers_collector_accepts(tmp_path):
    deployments = [{"id": "d1", "group": "script", "config": "true", "inputs": []}]
    out = _apply(tmp_path, {"deployments": deployments, "os-collect-config": {
        "collectors": ["cfn", "local"], "polling_interval": 15, "cfn": CFN,
        # after a transport switch Heat leaves the old sections with null values
        "heat": {"password": None, "user_id": None}, "request": {"metadata_url": None}}})
    config = out / "etc/os-collect-config.conf"
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    text = config.read_text()
    parsed = parse_agent_config(text, str(config))
    assert parsed.collectors == ("cfn",)
    assert parsed.command == "os-refresh-config" and parsed.polling_interval == 15
    assert parsed.settings["cfn"]["access_key_id"] == "AKID"
    assert parsed.settings["cfn"]["path"] == ["server.Metadata"]   # cfn takes several paths
    assert "[heat]" not in text and "[request]" not in text
    heat_config = out / "var/run/heat-config/heat-config"
    assert json.loads(heat_config.read_text()) == deployments
    assert stat.S_IMODE(heat_config.stat().st_mode) == 0o600


def test_watch_is_configured_only_with_its_token(tmp_path):
    without = _apply(tmp_path, {"os-collect-config": {
        "collectors": ["watch"], "watch": {"metadata_url": "http://s/v1/t/servers/x/metadata"}}})
    text = (without / "etc/os-collect-config.conf").read_text()
    assert "watch" not in text
    with_token = _apply(tmp_path, {"os-collect-config": {"watch": {
        "metadata_url": "http://s/v1/t/servers/x/metadata", "auth_token": "tok"}}})
    parsed = parse_agent_config((with_token / "etc/os-collect-config.conf").read_text())
    assert parsed.collectors == ("watch",) and parsed.settings["watch"]["auth_token"] == "tok"


@pytest.mark.timeout(60)
def test_configure_script_runs_new_deployments_once(tmp_path):
    root = tmp_path / "guest"
    item = {"id": "dep-1", "name": "hello", "group": "script",
            "config": "#!/bin/sh\necho hello $who\nprintf yes > $heat_outputs_path.done\n",
            "inputs": [{"name": "who", "type": "String", "value": "there"}],
            "outputs": [{"name": "done"}], "options": {}}
    heat_config = root / "var/run/heat-config/heat-config"
    heat_config.parent.mkdir(parents=True)
    heat_config.write_text(json.dumps([item]))
    script = ELEMENTS / "stoker-heat-config/os-refresh-config/configure.d/55-stoker-heat-config"
    env = dict(os.environ, STOKER_AGENT_ROOT=str(root), PYTHONPATH=str(REPO))

    def run():
        return subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                              timeout=45, env=env)
    first = run()
    assert first.returncode == 0, first.stderr
    deployed = root / "var/lib/heat-config/deployed"
    assert json.loads((deployed / "dep-1.json").read_text())["id"] == "dep-1"
    notify = json.loads((deployed / "dep-1.notify.json").read_text())
    assert notify["deploy_stdout"] == "hello there\n" and notify["done"] == "yes"
    marker = (deployed / "dep-1.json").stat().st_mtime_ns
    again = run()
    assert again.returncode == 0, again.stderr
    assert (deployed / "dep-1.json").stat().st_mtime_ns == marker   # not run twice

    heat_config.write_text("{not json")
    broken = run()
    assert broken.returncode == 1 and "not JSON" in broken.stderr
