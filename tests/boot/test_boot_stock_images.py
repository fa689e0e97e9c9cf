"""Stock images boot the agent from their stoker server with no other network: a Debian 11 root
without python3-venv or pip, and a RHEL-9-like root (see stock_roots.py for exactly what each
is), each with its own Python 3.9 and its own cloud-init, booted with NoCloud in namespaces whose
only network is their loopback, where a real `stoker server` serves its wheelhouse. The boot
must end `status: done`, the agent installed from the wheelhouse (pinned, never an index), and
one pass of that agent completes the server's deployment."""
from __future__ import annotations

import json
import platform
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from boot_nocloud_root import chroot_argv
from stock_roots import IMAGES, RootUnavailable, StockBoot, image_root

HERE = Path(__file__).resolve().parent
NOVA_USER_DATA_LIMIT = 65535   # bytes of base64
USERS = textwrap.dedent("""\
    #cloud-config
    runcmd:
      - [sh, -c, 'echo user-runcmd > /var/tmp/user-ran']
    """)
# what the image is, seen from inside before the boot
PROBE = r"""
python3 -c 'import sys; print("python=%d.%d" % sys.version_info[:2])'
python3 -c 'import ensurepip' 2>/dev/null && echo ensurepip=yes || echo ensurepip=no
python3 -m pip --version 2>/dev/null | sed 's/^pip \([0-9.]*\).*/pip=\1/' | grep pip= \
  || echo pip=none
command -v apt-get >/dev/null && echo apt=yes || echo apt=no
. /etc/os-release; echo "os=$ID-$VERSION_ID"
"""
EXPECTED = {"debian-11": {"python": "3.9", "ensurepip": "no", "pip": "none", "apt": "yes",
                          "os": "debian-11"},
            "rhel-9-like": {"python": "3.9", "ensurepip": "yes", "pip": "20.3.4", "apt": "no",
                            "os": "rhel-9.4"}}


@pytest.fixture(scope="session")
def stock_image():
    made: dict[str, Path | str] = {}

    def get(name: str) -> Path:
        if name not in made:
            try:
                made[name] = image_root(name)
            except RootUnavailable as exc:
                made[name] = str(exc)
        if isinstance(made[name], str):
            pytest.skip(f"cannot make the {name} root here: {made[name]}")
        return made[name]
    return get


@pytest.mark.slow
@pytest.mark.timeout(900)     # the first run makes the images (about 3 minutes)
@pytest.mark.parametrize("name", list(IMAGES))
def test_a_stock_image_installs_the_agent_from_its_server_and_deploys(
        name, stock_image, agent_wheelhouse, tmp_path):
    lower = stock_image(name)
    image = IMAGES[name]
    boot = StockBoot(image, lower, tmp_path / "boot")
    probe = boot.run(chroot_argv(boot.root, PROBE), timeout=60)
    facts = dict(line.split("=", 1) for line in probe.stdout.split())
    assert facts == EXPECTED[name], probe.stdout + probe.stderr

    manifest = json.loads((agent_wheelhouse / "manifest.json").read_text())
    target = f"cp{image.python}-{platform.machine()}"
    if target not in manifest["targets"]:
        pytest.skip(f"the wheelhouse has no {target}: stoker's Requires-Python does not accept "
                    f"Python {image.python} (it has {manifest['targets']})")

    work = tmp_path / "work"
    work.mkdir()
    users = tmp_path / "users.yaml"
    users.write_text(USERS)
    done = boot.run([sys.executable, str(HERE / "boot_nocloud_driver.py"), str(boot.root),
                     str(work), str(users), str(agent_wheelhouse)], timeout=600)
    stages = boot.file("var/log/boot-stages.log")
    context = (stages.read_text()[-4000:] if stages.exists() else "") + done.stderr[-3000:]
    assert done.returncode == 0, context
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["boot_rc"] == 0, context
    assert (report["user_data_bytes"] + 2) // 3 * 4 < NOVA_USER_DATA_LIMIT

    # the image's own cloud-init finished, with no error, and the user's part ran too
    status = boot.file("var/log/boot-status.txt").read_text()
    assert "status: done" in status, status + context
    result = json.loads(boot.file("var/lib/cloud/data/result.json").read_text())
    assert result["v1"]["errors"] == [], result
    assert boot.file("var/tmp/user-ran").read_text() == "user-runcmd\n"

    # the agent came from the server's wheelhouse, pinned, into a venv of the image's Python,
    # with the wheelhouse's pip (not the image's, nor ensurepip)
    output = boot.file("var/log/cloud-init-output.log").read_text()
    assert "Looking in links: http://127.0.0.1:" in output and "/wheelhouse/" in output, output
    assert "Looking in indexes" not in output and "pypi" not in output.lower(), output
    pyvenv = boot.file("opt/stoker/venv/pyvenv.cfg").read_text()
    assert f"version = {image.python}." in pyvenv, pyvenv
    site = boot.upper / f"opt/stoker/venv/lib/python{image.python}/site-packages"
    pip_version = manifest["pip"].split("-")[1]
    assert (site / f"pip-{pip_version}.dist-info").is_dir(), sorted(p.name for p in site.iterdir())
    served = (work / "server.log").read_text()
    assert '"GET /wheelhouse/stoker-' in served, served
    checks = boot.file("var/log/boot-checks.txt").read_text()
    assert "/usr/local/bin/stoker -> /opt/stoker/venv/bin/stoker" in checks, checks
    assert "usage: stoker agent" in checks and "enabled" in checks, checks

    # `stoker-bootstrap --upgrade` reinstalls the same pinned files
    again = boot.file("var/log/bootstrap-again.log").read_text()
    assert "again-rc=0" in again and "Successfully installed" in again, again
    agent_version = manifest["agent"].split("-")[1]
    assert f"stoker-{agent_version}" in again.rsplit("Successfully installed", 1)[1], again

    # and that agent, on the image's Python, deployed and signalled
    agent_log = boot.file("var/log/agent-once.log").read_text()
    assert "agent-rc=0" in agent_log, agent_log
    deployment = report["deployment"]
    assert deployment["status"] == "COMPLETE", (deployment, agent_log)
    assert deployment["output_values"]["result"] == "ok"
    assert deployment["output_values"]["deploy_stdout"] == "hello from the guest\n"


def test_the_images_are_left_as_they_were(stock_image, tmp_path):
    """A boot writes to its own upper layer only: the cached image stays pristine."""
    lower = stock_image("debian-11")
    boot = StockBoot(IMAGES["debian-11"], lower, tmp_path / "boot")
    done = boot.run(chroot_argv(boot.root, "echo changed > /etc/motd; mkdir -p /opt/x"),
                    timeout=60)
    assert done.returncode == 0, done.stderr
    assert boot.file("etc/motd").read_text() == "changed\n"
    assert (lower / "etc/motd").read_text() != "changed\n" and not (lower / "opt/x").exists()
    assert subprocess.run(["findmnt", str(boot.root)], capture_output=True).returncode != 0
