"""The elements' hooks as diskimage-builder runs them: merged into /tmp/in_target.d, run by
DIB's own dib-run-parts (which sources environment.d) inside a throwaway root; then Heat's agent
chain on the result: os-refresh-config -> os-apply-config -> deployments, all stoker's drop-ins
from the venv the element installed."""
from __future__ import annotations

import json
import shutil
import stat
from pathlib import Path

import pytest

ELEMENTS = Path(__file__).resolve().parents[2] / "elements"

INSIDE = r"""
/tmp/in_target.d/dib-run-parts /tmp/in_target.d/install.d > /var/log/dib-install.log 2>&1
echo "install-rc=$?" >> /var/log/dib-install.log
{ systemctl is-enabled stoker-agent.service; systemctl is-enabled os-collect-config.service
  readlink /usr/local/bin/stoker /usr/local/bin/os-collect-config
  ls /usr/libexec/os-refresh-config/configure.d
  ls /usr/libexec/os-apply-config/templates/etc /usr/libexec/os-apply-config/templates/var/run/heat-config
} > /var/log/image-checks.txt 2>&1
OS_CONFIG_FILES=/meta.json /opt/stoker/venv/bin/os-refresh-config > /var/log/orc.log 2>&1
echo "orc-rc=$?" >> /var/log/orc.log
"""


def _merge_like_dib(root: Path, dib_lib: Path) -> None:
    """What DIB's generate_hooks does: every element directory merged into in_target.d."""
    target = root / "tmp/in_target.d"
    for element in ("stoker-agent", "stoker-heat-config"):
        shutil.copytree(ELEMENTS / element, target, dirs_exist_ok=True, symlinks=True)
    shutil.copy(dib_lib / "dib-run-parts", target / "dib-run-parts")


@pytest.mark.timeout(300)
def test_hooks_install_the_agent_and_the_heat_chain_runs(dib, wheels, image_root, boot_root):
    python, builtin = dib
    root = image_root
    _merge_like_dib(root, Path(builtin).parent / "lib")
    (root / "wheels").mkdir()
    for wheel in wheels.iterdir():
        shutil.copy(wheel, root / "wheels" / wheel.name)
    # what the element's environment.d would otherwise default
    env_file = root / "tmp/in_target.d/environment.d/20-test.bash"
    env_file.write_text("export DIB_STOKER_AGENT_NO_INDEX=1\n"
                        "export DIB_STOKER_AGENT_FIND_LINKS=/wheels\n")
    item = {"id": "dep-1", "name": "hello", "group": "script",
            "config": "#!/bin/sh\necho hello image\nprintf yes > $heat_outputs_path.done\n",
            "inputs": [], "outputs": [{"name": "done"}], "options": {}}
    (root / "meta.json").write_text(json.dumps({
        "deployments": [item],
        "os-collect-config": {"cfn": {"metadata_url": "http://192.0.2.1:8000/v1/",
                                      "access_key_id": "AK", "secret_access_key": "SK",
                                      "stack_name": "s", "path": "server.Metadata"}}}))

    done = boot_root.in_namespaces(root, boot_root.chroot_argv(root, INSIDE), timeout=280,
                                   writable=("usr/libexec",))
    install_log = (root / "var/log/dib-install.log").read_text()
    assert done.returncode == 0, done.stderr
    assert "install-rc=0" in install_log, install_log[-3000:]
    assert "Running /tmp/in_target.d/install.d/75-stoker-agent" in install_log
    assert "Running /tmp/in_target.d/install.d/80-stoker-heat-config" in install_log

    checks = (root / "var/log/image-checks.txt").read_text().split()
    assert checks[:2] == ["disabled", "enabled"], checks        # os-collect-config drives runs
    assert "/opt/stoker/venv/bin/stoker" in checks and "/opt/stoker/venv/bin/os-collect-config" in checks
    assert {"20-os-apply-config", "55-stoker-heat-config", "os-collect-config.conf",
            "heat-config"} <= set(checks)
    assert (root / "opt/stoker/venv/bin/stoker").exists()
    unit = root / "etc/systemd/system/stoker-agent.service"
    assert unit.read_text() == (ELEMENTS.parent / "systemd/stoker-agent.service").read_text()

    # the chain: os-refresh-config ran 20-os-apply-config (config rendered from metadata, 0600)
    # and 55-stoker-heat-config (the deployment ran through the script hook)
    orc_log = (root / "var/log/orc.log").read_text()
    assert "orc-rc=0" in orc_log, orc_log[-3000:]
    config = root / "etc/os-collect-config.conf"
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    text = config.read_text()
    assert "command = os-refresh-config" in text and "collectors = cfn" in text
    assert "access_key_id = AK" in text
    notify = json.loads((root / "var/lib/heat-config/deployed/dep-1.notify.json").read_text())
    assert notify["deploy_stdout"] == "hello image\n" and notify["done"] == "yes"
