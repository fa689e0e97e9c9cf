"""Real cloud-init for the boot-path tests: Debian's package (installed at test time when
missing and we may), and a throwaway root to boot user_data in with the NoCloud datasource.

The throwaway root borrows the host's /usr read-only (cloud-init, python3, systemctl), has its
own copy of /etc, a tmpfs over /usr/local, and runs every cloud-init stage inside new mount, pid,
net and uts namespaces, so nothing it does can reach the host: mounts vanish with the namespace,
there is no network, and the hostname it sets is its own.
"""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from boot_nocloud_root import make_root
from boot_wheelhouse import gathered_wheelhouse

APT_TIMEOUT = 300


def _install_cloud_init() -> str | None:
    """Debian's cloud-init, or the reason it cannot be had here."""
    if shutil.which("cloud-init"):
        return None
    if os.environ.get("STOKER_TEST_NO_APT"):
        return "cloud-init is not installed and STOKER_TEST_NO_APT forbids apt-get"
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        return "cloud-init is not installed (needs root and apt-get to install Debian's package)"
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    try:
        for argv in (["apt-get", "update", "-qq"],
                     ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "cloud-init"]):
            done = subprocess.run(argv, env=env, capture_output=True, text=True,
                                  timeout=APT_TIMEOUT)
            if done.returncode != 0:
                return f"apt-get could not install cloud-init: {done.stderr.strip()[-300:]}"
    except subprocess.TimeoutExpired:
        return f"installing cloud-init took more than {APT_TIMEOUT} s"
    # the package enables its units; make sure a later real boot of this machine ignores them
    Path("/etc/cloud").mkdir(parents=True, exist_ok=True)
    Path("/etc/cloud/cloud-init.disabled").touch()
    return None


@pytest.fixture(scope="session")
def cloud_init() -> str:
    reason = _install_cloud_init()
    if reason:
        pytest.skip(reason)
    return shutil.which("cloud-init")


@pytest.fixture
def throwaway_root(cloud_init, tmp_path):
    if os.geteuid() != 0 or not shutil.which("unshare"):
        pytest.skip("booting in a throwaway root needs root and unshare(1)")
    probe = subprocess.run(["unshare", "--mount", "--pid", "--net", "--fork", "true"],
                           capture_output=True, text=True)
    if probe.returncode != 0:
        pytest.skip(f"cannot create namespaces here: {probe.stderr.strip()}")
    return make_root(tmp_path / "root")


@pytest.fixture(scope="session")
def agent_wheelhouse(tmp_path_factory) -> Path:
    """The agent's wheels as a stoker server serves them (gathered once, cached between runs)."""
    from metadata_server.boot.agent_wheel import AgentWheelError
    from metadata_server.boot.wheelhouse import WheelhouseError
    try:
        return gathered_wheelhouse(tmp_path_factory.mktemp("agent-wheelhouse"))
    except (WheelhouseError, AgentWheelError) as exc:
        pytest.skip(f"cannot gather the agent wheelhouse (package index unreachable?): {exc}")
