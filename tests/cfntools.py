"""heat-cfntools' cfn-init and cfn-hup for tests: installed from PyPI at test time (tests/upstream.py)
and run in a sandbox, because they hard-code their paths (/etc/cfn, /var/cache/heat-cfntools,
/var/log/cfn-init.log, and whatever files, users and packages the metadata names).

The sandbox is a private mount namespace in which /etc, /var and /usr are the machine's, overlaid
with directories of the test: every write under them lands in `<root>/etc`, `<root>/var` and
`<root>/usr` and the machine is untouched. Seed a file by writing it there before a run; read a
result there after; `hide` removes a file from the sandbox's view (e.g. systemctl, so cfn-init
drives services the sysvinit way, through the sandbox's /etc/init.d). It needs root and
overlayfs; without them the test is skipped with the reason.
"""
from __future__ import annotations

import os
import secrets
import shlex
import shutil
import stat
import subprocess
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator
from urllib.parse import urlsplit

import pytest
import requests

from cli.processes import Process, start_server
from tests.upstream import require
from tests.waiting import stack_when

OVERLAID = ("etc", "var", "usr")


def cfntools_bin() -> Path:
    """The bin directory holding the real cfn-init and cfn-hup, or skip saying why."""
    bin_dir = require(["heat-cfntools"], 180) / "bin"
    if not (bin_dir / "cfn-init").exists():
        pytest.skip("heat-cfntools installed no cfn-init")
    return bin_dir


class Sandbox:
    def __init__(self, root: Path):
        self.root = root
        # overlayfs wants its work directories beside, never inside, the upper ones
        self.work = root.parent / f"{root.name}.overlay-work"
        for name in OVERLAID:
            (root / name).mkdir(parents=True, exist_ok=True)
            (self.work / name).mkdir(parents=True, exist_ok=True)

    def path(self, absolute: str) -> Path:
        """Where a path under /etc or /var the sandboxed tools wrote (or will read) lives."""
        assert absolute.split("/")[1] in OVERLAID, absolute
        return self.root / absolute.lstrip("/")

    def hide(self, absolute: str) -> None:
        """Take `absolute` out of the sandbox's view (an overlayfs whiteout)."""
        whiteout = self.path(absolute)
        whiteout.parent.mkdir(parents=True, exist_ok=True)
        os.mknod(whiteout, stat.S_IFCHR | 0o000, os.makedev(0, 0))

    def argv(self, *argv: str) -> list[str]:
        mounts = "; ".join(
            f"mount -t overlay stoker-sandbox -o lowerdir=/{name},"
            f"upperdir={self.root / name},workdir={self.work / name} /{name}" for name in OVERLAID)
        return ["unshare", "--mount", "--propagation", "private", "--", "/bin/sh", "-ec",
                f'{mounts}; exec "$@"', "sandbox", *argv]

    def wrapper(self, path: Path, target: Path) -> Path:
        """An executable at `path` that runs `target` (with its arguments) in the sandbox."""
        path.write_text("#!/bin/sh\nexec " + " ".join(shlex.quote(a) for a in self.argv(str(target)))
                        + ' "$@"\n')
        path.chmod(0o755)
        return path

    def cleanup(self) -> None:
        shutil.rmtree(self.work, ignore_errors=True)
        shutil.rmtree(self.root, ignore_errors=True)


def sandbox(root: Path, without_systemd: bool = False) -> Sandbox:
    """A working sandbox at `root`, or skip saying why there cannot be one. `without_systemd`:
    a machine with no systemctl, where cfn-init drives services through service(8) and
    update-rc.d, that is the sandbox's /etc/init.d and /etc/rc?.d."""
    if os.geteuid() != 0:
        pytest.skip("the cfn-tools sandbox needs root (a mount namespace with overlayfs)")
    if shutil.which("unshare") is None:
        pytest.skip("the cfn-tools sandbox needs unshare (util-linux)")
    box = Sandbox(root)
    probe = subprocess.run(box.argv("/bin/sh", "-c", "touch /etc/.stoker-sandbox-probe"),
                           capture_output=True, text=True, timeout=30)
    if probe.returncode != 0 or not box.path("/etc/.stoker-sandbox-probe").exists():
        box.cleanup()
        pytest.skip(f"cannot overlay /etc and /var in a mount namespace here: {probe.stderr.strip()}")
    assert not Path("/etc/.stoker-sandbox-probe").exists()
    if without_systemd:
        box.hide("/usr/bin/systemctl")
    return box


def recording_init_script(name: str) -> str:
    """A sysvinit script that records each call in /var/lib/<name>/calls and keeps its state in
    /var/lib/<name>/running."""
    return f"""#!/bin/sh
### BEGIN INIT INFO
# Provides:          {name}
# Required-Start:
# Required-Stop:
# Default-Start:     2 3 4 5
# Default-Stop:      0 1 6
# Short-Description: a service that records how it was called
### END INIT INFO
state=/var/lib/{name}
mkdir -p $state
echo "$1" >> $state/calls
case "$1" in
  start) touch $state/running ;;
  stop) rm -f $state/running ;;
  status) test -f $state/running ;;
esac
"""


def point_at_server(box: Sandbox, base: str) -> None:
    """What Heat's user data gives an image for heat-cfntools: boto's config with the CFN
    endpoint's host, and the metadata server URL the port is taken from (the path is /v1/)."""
    directory = box.path("/var/lib/heat-cfntools")
    directory.mkdir(parents=True, exist_ok=True)
    # cfn_helper points BOTO_CONFIG here: without it boto would look up amazonaws.com
    (directory / "cfn-boto-cfg").write_text(
        "[Boto]\ndebug = 0\nis_secure = 0\nhttps_validate_certificates = 1\n"
        f"cfn_region_name = heat\ncfn_region_endpoint = {urlsplit(base).hostname}\n")
    (directory / "cfn-metadata-server").write_text(f"{base}/\n")


def clean_env(bin_dir: Path) -> dict[str, str]:
    """What the tools run with: their venv first on PATH, no proxy (the server is on loopback)."""
    return {"PATH": f"{bin_dir}{os.pathsep}/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8",
            "HOME": "/root"}


@pytest.fixture
def box(tmp_path):
    """A sandbox for one test, cleaned up after it (import the fixture where it is used)."""
    found = sandbox(tmp_path / "sandbox")
    yield found
    found.cleanup()


@dataclass
class RealStack:
    server: Process
    base: str
    session: requests.Session   # with the admin token
    url: str                    # the stack's own URL
    stack: dict                 # as shown once CREATE_COMPLETE


@contextmanager
def real_stack(tmp_path: Path, name: str, template: dict) -> Iterator[RealStack]:
    """A real `stoker server` on loopback holding one created stack. After the block the stack is
    deleted (DELETE_COMPLETE), the server stops cleanly and its log has no Traceback."""
    token = secrets.token_hex(16)
    server, base = start_server(tmp_path / "server", token, tmp_path / "server.log")
    session = requests.Session()
    session.headers["X-Auth-Token"] = token
    try:
        created = session.post(f"{base}/v1/t1/stacks", json={"stack_name": name,
                                                              "template": template}, timeout=10)
        assert created.status_code == 201, created.text
        url = created.headers["Location"]
        stack = stack_when(session, url, lambda s: s["stack_status"] != "CREATE_IN_PROGRESS")
        assert stack["stack_status"] == "CREATE_COMPLETE", stack["stack_status_reason"]
        yield RealStack(server, base, session, url, stack)
        session.delete(url, timeout=10)
        gone = stack_when(session, url, lambda s: s["stack_status"] != "DELETE_IN_PROGRESS")
        assert gone["stack_status"] == "DELETE_COMPLETE", gone["stack_status_reason"]
    finally:
        assert server.stop() == 0
    assert "Traceback" not in server.log()
