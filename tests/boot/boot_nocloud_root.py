"""Boot user_data with cloud-init's NoCloud datasource in a throwaway root (see conftest.py)."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

TEST_CFG = """\
datasource_list: [NoCloud, None]
network: {config: disabled}
# only the modules the boot path uses: a throwaway root is not a machine, and modules such as
# growpart or ssh would look at the host's devices or need packages it lacks
cloud_init_modules: [write_files]
cloud_config_modules: [runcmd]
cloud_final_modules: [scripts_user, final_message]
"""

MOUNTS = r"""
set -eu
R="$1"; shift
mount --bind /usr "$R/usr"
mount -o remount,bind,ro "$R/usr"
mount -t tmpfs tmpfs "$R/usr/local"
mkdir -p "$R/usr/local/bin" "$R/usr/local/sbin" "$R/usr/local/lib"
mount -t tmpfs tmpfs "$R/run"
for node in null zero random urandom full; do
  touch "$R/dev/$node"; mount --bind "/dev/$node" "$R/dev/$node"
done
ip link set lo up 2>/dev/null || true
"""

# every boot stage, as systemd would run them, then what can only be seen from inside
STAGES = r"""
cloud-init init --local >/var/log/boot-stages.log 2>&1
cloud-init init >>/var/log/boot-stages.log 2>&1
cloud-init modules --mode config >>/var/log/boot-stages.log 2>&1
cloud-init modules --mode final >>/var/log/boot-stages.log 2>&1
cloud-init status --long > /var/log/boot-status.txt 2>&1 || true
{ ls -l /usr/local/bin/stoker; /usr/local/bin/stoker agent --help | head -n 1; } \
  > /var/log/boot-checks.txt 2>&1 || true
systemctl is-enabled stoker-agent.service >> /var/log/boot-checks.txt 2>&1 || true
"""


def chroot_argv(root: Path | str, script: str) -> list[str]:
    """Run `script` in the root with a clean environment (no host PATH or pip settings)."""
    return ["chroot", str(root), "/usr/bin/env", "-i",
            "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin", "HOME=/root",
            "LANG=C.UTF-8", "/bin/sh", "-c", script]


def seed(root: Path, user_data: str) -> None:
    nocloud = root / "var/lib/cloud/seed/nocloud"
    (nocloud / "meta-data").write_text("instance-id: iid-stoker-test\nlocal-hostname: guest\n")
    (nocloud / "user-data").write_text(user_data)


def in_namespaces(root: Path, argv: list[str], timeout: float,
                  writable: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    """Mount the root's pieces in new mount/pid/net/uts namespaces, then run argv there
    (still outside the chroot, so a driver can also start a server on the namespace's own
    loopback). `writable` are directories under the read-only /usr that get a tmpfs of their
    own. Every process and mount ends with the namespace."""
    return subprocess.run(["unshare", "--mount", "--pid", "--net", "--uts", "--fork",
                           f"--mount-proc={root}/proc", "sh", "-c",
                           MOUNTS + "".join(f'mount -t tmpfs tmpfs "$R/{d}"\n' for d in writable)
                           + 'exec "$@"',
                           "inner", str(root)] + argv,
                          capture_output=True, text=True, timeout=timeout)




def build_wheels(repo: Path, out: Path, scratch: Path) -> subprocess.CompletedProcess:
    """stoker and its agent dependencies as wheels in `out`. The build runs on a copy of the
    sources so that it leaves no build/ or egg-info in the checkout."""
    source = scratch / "stoker-src"
    for name in ("setup.py", "pyproject.toml", "README.md"):
        source.mkdir(parents=True, exist_ok=True)
        shutil.copy(repo / name, source / name)
    # every top-level package of the checkout, so a package setup.py gains is never left out
    packages = [p.name for p in repo.iterdir() if (p / "__init__.py").is_file() and p.name != "tests"]
    for package in packages:
        shutil.copytree(repo / package, source / package,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "-w", str(out),
                           str(source)], capture_output=True, text=True, timeout=180)


def make_root(root: Path) -> Path:
    for name in ("usr", "proc", "dev", "run", "tmp", "var/tmp", "var/log", "opt", "root",
                 "var/lib/cloud/seed/nocloud"):
        (root / name).mkdir(parents=True, exist_ok=True)
    (root / "var/run").symlink_to("/run")
    for link in ("bin", "sbin", "lib", "lib64"):
        if Path("/" + link).is_symlink():
            (root / link).symlink_to(os.readlink("/" + link))
    shutil.copytree("/etc", root / "etc", symlinks=True, ignore_dangling_symlinks=True,
                    ignore=shutil.ignore_patterns("pip.conf", "cloud-init.disabled"))
    shutil.rmtree(root / "etc/xdg/pip", ignore_errors=True)   # this host's pip mirrors
    (root / "etc/cloud/cloud.cfg.d").mkdir(parents=True, exist_ok=True)
    (root / "etc/cloud/cloud.cfg.d/99-stoker-test.cfg").write_text(TEST_CFG)
    return root


def boot(root: Path, user_data: str, timeout: float = 240) -> subprocess.CompletedProcess:
    seed(root, user_data)
    return in_namespaces(root, chroot_argv(root, STAGES), timeout)
