"""Roots shaped like the stock cloud images people boot, for boot tests.

Made once with debootstrap from Debian's own packages (deb.debian.org), cached outside the
checkout (boot_wheelhouse.cache_dir()/roots), and booted through an overlay: each boot starts
from the pristine image, writes only to its own upper directory, and leaves the cache untouched.

- `debian-11`: Debian 11 (bullseye) minbase with cloud-init 20.4 and systemd, as Debian's cloud
  images have them: Python 3.9, no python3-venv (so no ensurepip), no pip.
- `rhel-9-like`: no RHEL image can be fetched here, so this is the closest honest stand-in: the
  same root with python3-venv and pip 20.3 added (RHEL 9 has venv/ensurepip and pip 21.2), apt
  and dpkg removed, /etc/os-release and /etc/redhat-release of RHEL 9.4, and cloud-init told its
  distro is `rhel`. Its Python (3.9) is RHEL 9's. What it does not have: RHEL's own Python build,
  cloud-init 23.4, SELinux, dnf.
"""
from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

MIRROR = "http://deb.debian.org/debian"
BUILD_TIMEOUT = 900


class RootUnavailable(Exception):
    """The image cannot be made here (no root, no debootstrap, no mirror); the message says why."""


@dataclass(frozen=True)
class Image:
    name: str
    python: str                 # the image's python3
    cloud_cfg: str = ""         # more cloud.cfg.d settings for its cloud-init


IMAGES = {
    "debian-11": Image("debian-11", "3.9"),
    "rhel-9-like": Image("rhel-9-like", "3.9", "system_info: {distro: rhel}\n"),
}
_DEBIAN_11 = ("bullseye", ("cloud-init", "systemd",
                           # debootstrap resolves no virtual packages: cryptography's cffi
                           "python3-cffi-backend"))
_RHEL_RELEASE = """\
NAME="Red Hat Enterprise Linux"
VERSION="9.4 (Plow)"
ID="rhel"
ID_LIKE="fedora"
VERSION_ID="9.4"
PLATFORM_ID="platform:el9"
PRETTY_NAME="Red Hat Enterprise Linux 9.4 (Plow)"
"""
# inside a fresh mount namespace: what a chroot needs to run apt
_APT_MOUNTS = """\
set -eu
R="$1"; shift
mount -t proc proc "$R/proc"
for node in null zero random urandom; do mount --bind "/dev/$node" "$R/dev/$node"; done
cp /etc/resolv.conf "$R/etc/resolv.conf"
exec chroot "$R" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
  DEBIAN_FRONTEND=noninteractive "$@"
"""


def roots_dir() -> Path:
    from boot_wheelhouse import cache_dir
    return cache_dir() / "roots"


def _recipe_key(*parts) -> str:
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:10]


def _run(argv: list[str], what: str, timeout: float = BUILD_TIMEOUT) -> None:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise RootUnavailable(f"{what} took more than {timeout} s") from None
    if done.returncode != 0:
        raise RootUnavailable(f"{what} failed: {(done.stderr or done.stdout).strip()[-500:]}")


def _debootstrap() -> str:
    found = shutil.which("debootstrap")
    if found:
        return found
    if os.environ.get("STOKER_TEST_NO_APT") or not shutil.which("apt-get"):
        raise RootUnavailable("debootstrap is not installed and apt-get may not install it")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for argv in (["apt-get", "update", "-qq"],
                 ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "debootstrap"]):
        if subprocess.run(argv, env=env, capture_output=True, timeout=300).returncode != 0:
            raise RootUnavailable("apt-get could not install debootstrap")
    return shutil.which("debootstrap") or "debootstrap"


def _make_debian_11(partial: Path) -> None:
    suite, packages = _DEBIAN_11
    _run([_debootstrap(), "--variant=minbase", f"--include={','.join(packages)}", suite,
          str(partial), MIRROR], f"debootstrap {suite}")
    _slim(partial)


def _make_rhel_9_like(partial: Path) -> None:
    # cp -a, not copytree: the root has device nodes (/dev/zero), which must stay nodes
    _run(["cp", "-a", str(image_root("debian-11")), str(partial)], "copying the debian-11 root")
    _run(["unshare", "--mount", "--fork", "sh", "-c", _APT_MOUNTS, "apt", str(partial), "sh",
          "-c", "apt-get update -qq && apt-get install -y -qq --no-install-recommends "
          "python3-venv python3-pip"], "installing python3-venv and pip")
    _slim(partial)
    for pattern in ("usr/bin/apt*", "usr/bin/dpkg*", "usr/sbin/dpkg*", "usr/lib/apt"):
        for path in partial.glob(pattern):
            shutil.rmtree(path) if path.is_dir() and not path.is_symlink() else path.unlink()
    (partial / "etc/os-release").unlink()
    (partial / "etc/os-release").write_text(_RHEL_RELEASE)
    (partial / "etc/redhat-release").write_text("Red Hat Enterprise Linux release 9.4 (Plow)\n")
    (partial / "etc/debian_version").unlink()


def _slim(root: Path) -> None:
    """What a cloud image does not carry either: downloaded packages and package lists."""
    for directory in ("var/cache/apt/archives", "var/lib/apt/lists"):
        for path in (root / directory).glob("*"):
            if path.is_file():
                path.unlink()


_RECIPES = {"debian-11": (_make_debian_11, _DEBIAN_11),
            "rhel-9-like": (_make_rhel_9_like, (_DEBIAN_11, _RHEL_RELEASE))}


def image_root(name: str) -> Path:
    """The cached root of image `name`, made now if missing (needs root and Debian's mirror)."""
    if os.geteuid() != 0:
        raise RootUnavailable("making an image root needs root")
    make, recipe = _RECIPES[name]
    final = roots_dir() / f"{name}-{_recipe_key(recipe)}"
    if (final / ".stoker-ready").exists():
        return final
    roots_dir().mkdir(parents=True, exist_ok=True)
    with open(roots_dir() / f".{name}.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)     # another test run may be making it
        if not (final / ".stoker-ready").exists():
            partial = final.with_name(final.name + ".partial")
            shutil.rmtree(partial, ignore_errors=True)
            make(partial)
            (partial / ".stoker-ready").touch()
            shutil.rmtree(final, ignore_errors=True)
            partial.rename(final)
    return final


# Inside the boot's namespaces: the image as the overlay's lower layer, the boot's writes in
# its upper layer, and what a booted machine has (proc, a tmpfs /run and /tmp, device nodes)
OVERLAY_MOUNTS = r"""
set -eu
R="$1"; LOWER="$2"; UPPER="$3"; WORK="$4"; shift 4
mount -t overlay overlay -o "lowerdir=$LOWER,upperdir=$UPPER,workdir=$WORK" "$R"
mount -t proc proc "$R/proc"
mount -t tmpfs tmpfs "$R/run"
mount -t tmpfs tmpfs "$R/tmp"
for node in null zero random urandom full; do mount --bind "/dev/$node" "$R/dev/$node"; done
ip link set lo up 2>/dev/null || true
exec "$@"
"""


class StockBoot:
    """One boot of an image: `root` is where it is mounted while the namespaces live; `upper`
    keeps what the boot wrote (read results with `file`)."""

    def __init__(self, image: Image, lower: Path, work: Path):
        self.image, self.lower = image, lower
        self.root, self.upper, self._work = work / "root", work / "upper", work / "overlay-work"
        for path in (self.root, self.upper, self._work):
            path.mkdir(parents=True)
        # the image's cloud-init, told what a throwaway root can do
        from boot_nocloud_root import TEST_CFG
        (self.upper / "etc/cloud/cloud.cfg.d").mkdir(parents=True)
        (self.upper / "etc/cloud/cloud.cfg.d/99-stoker-test.cfg").write_text(
            TEST_CFG + image.cloud_cfg)
        (self.upper / "var/lib/cloud/seed/nocloud").mkdir(parents=True)

    def file(self, path: str) -> Path:
        """A file as the booted machine left it (written by the boot, else the image's)."""
        written = self.upper / path
        return written if os.path.lexists(written) else self.lower / path

    def run(self, argv: list[str], timeout: float) -> subprocess.CompletedProcess:
        """argv in new mount/pid/net/uts namespaces with the image mounted at `root`; the only
        network is the namespace's own loopback."""
        return subprocess.run(["unshare", "--mount", "--pid", "--net", "--uts", "--fork",
                               "sh", "-c", OVERLAY_MOUNTS, "inner", str(self.root),
                               str(self.lower), str(self.upper), str(self._work)] + argv,
                              capture_output=True, text=True, timeout=timeout)
