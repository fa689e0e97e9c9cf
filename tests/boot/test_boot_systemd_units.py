"""systemd/stoker-agent.service and stoker-server.service: verified by systemd itself when
systemd-analyze is here, and parsed in any case."""
from __future__ import annotations

import configparser
import shutil
import subprocess
from pathlib import Path

import pytest

UNITS = Path(__file__).resolve().parents[2] / "systemd"
NAMES = ["stoker-agent.service", "stoker-server.service"]


def parse(name):
    parser = configparser.ConfigParser(strict=False, interpolation=None, delimiters=("=",))
    parser.optionxform = str
    parser.read_string((UNITS / name).read_text())
    return parser


@pytest.mark.parametrize("name", NAMES)
def test_units_parse_and_log_to_the_journal(name):
    unit = parse(name)
    assert unit.sections() == ["Unit", "Service", "Install"]
    service = unit["Service"]
    assert service["ExecStart"].startswith("/opt/stoker/venv/bin/stoker ")
    assert service["Restart"] == "on-failure"
    assert service["StandardError"] == "journal"
    # Environment= may repeat (configparser keeps the last one), so look at the text
    assert "\nEnvironment=PYTHONUNBUFFERED=1\n" in (UNITS / name).read_text()
    assert unit["Install"]["WantedBy"] == "multi-user.target"


def test_agent_waits_for_cloud_init_and_its_config():
    unit = parse("stoker-agent.service")["Unit"]
    assert "cloud-final.service" in unit["After"].split()
    assert unit["ConditionPathExists"] == "/etc/os-collect-config.conf"


def test_server_runs_unprivileged_with_its_state_directory():
    service = parse("stoker-server.service")["Service"]
    assert service["User"] == "stoker" and service["StateDirectory"] == "stoker-server"
    assert "--state-dir /var/lib/stoker-server" in service["ExecStart"]


@pytest.mark.timeout(60)
def test_systemd_analyze_verify(tmp_path):
    analyze = shutil.which("systemd-analyze")
    system = Path("/usr/lib/systemd/system")
    if not analyze or not (system / "multi-user.target").exists():
        pytest.skip("systemd-analyze or systemd's own units are not installed here")
    # a root holding systemd's units, ours, and the binary ExecStart names
    root = tmp_path / "root"
    shutil.copytree(system, root / "usr/lib/systemd/system", symlinks=True)
    stoker = root / "opt/stoker/venv/bin/stoker"
    stoker.parent.mkdir(parents=True)
    stoker.write_text("#!/bin/sh\n")
    stoker.chmod(0o755)
    (root / "etc/systemd/system").mkdir(parents=True)
    for name in NAMES:
        shutil.copy(UNITS / name, root / "etc/systemd/system" / name)
    done = subprocess.run([analyze, "verify", f"--root={root}"] +
                          [f"/etc/systemd/system/{n}" for n in NAMES],
                          capture_output=True, text=True, timeout=50)
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip() == "" and done.stdout.strip() == ""   # warnings count as failures
    # and it does complain about a unit with a mistake in it
    (root / "etc/systemd/system/bad.service").write_text(
        "[Service]\nExecStart=/opt/stoker/venv/bin/stoker\nRestartt=always\n")
    done = subprocess.run([analyze, "verify", f"--root={root}", "/etc/systemd/system/bad.service"],
                          capture_output=True, text=True, timeout=50)
    assert "Unknown key 'Restartt'" in done.stderr
