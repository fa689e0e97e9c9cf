"""Tools from PyPI for tests that run upstream side by side or drive a real client.

Each set of packages is installed once into a venv under the system temp dir, shared by the test
runs on this machine (a lock keeps two runs from installing it at once), within a time budget.
When it cannot be installed (PyPI unreachable, too slow), `Unavailable` says why, and `require`
turns that into a skip with the reason.
"""
from __future__ import annotations

import fcntl
import hashlib
import re
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Sequence

import pytest


class Unavailable(Exception):
    pass


def tool_venv(packages: Sequence[str], budget: float = 240) -> Path:
    """The venv holding `packages`, installing it on first use."""
    names = "-".join(re.sub(r"[^A-Za-z0-9]+", "", p.split("=")[0].split(">")[0]) for p in packages)
    digest = hashlib.sha256(" ".join(sorted(packages)).encode()).hexdigest()[:8]
    venv = Path(tempfile.gettempdir()) / f"stoker-test-{names[:60]}-{digest}"
    done = venv / ".installed"
    with open(f"{venv}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if done.exists():
            return venv
        try:
            subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True,
                           capture_output=True, timeout=120)
            subprocess.run([str(venv / "bin" / "pip"), "install", "-q",
                            "--disable-pip-version-check", *packages],
                           check=True, capture_output=True, timeout=budget)
        except subprocess.TimeoutExpired:
            raise Unavailable(f"installing {' '.join(packages)} from PyPI took over {budget:g} s")
        except subprocess.CalledProcessError as exc:
            tail = (exc.stderr or b"").decode(errors="replace").strip().splitlines()[-1:] or [""]
            raise Unavailable(f"cannot install {' '.join(packages)} from PyPI "
                              f"(is it reachable?): {tail[0]}")
        except OSError as exc:
            raise Unavailable(f"cannot create a venv for {' '.join(packages)}: {exc}")
        done.touch()
    return venv


def require(packages: Sequence[str], budget: float = 240) -> Path:
    """`tool_venv`, or skip the test with the reason."""
    try:
        return tool_venv(packages, budget)
    except Unavailable as exc:
        pytest.skip(str(exc))


def require_sdist(package: str, budget: float = 120) -> Path:
    """The unpacked source distribution of `package` from PyPI (for scripts that are not
    installed, such as heat-agents' hooks and heat-config-notify), or skip saying why."""
    root = Path(tempfile.gettempdir()) / f"stoker-test-sdist-{re.sub(r'[^A-Za-z0-9]+', '', package)}"
    done = root / ".unpacked"
    with open(f"{root}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not done.exists():
            root.mkdir(exist_ok=True)
            try:
                subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps",
                                "--no-binary", ":all:", "--disable-pip-version-check",
                                "-d", str(root), package],
                               check=True, capture_output=True, timeout=budget)
                (archive,) = root.glob("*.tar.gz")
                with tarfile.open(archive) as tar:
                    tar.extractall(root, filter="data")
            except (subprocess.SubprocessError, OSError, ValueError, tarfile.TarError) as exc:
                pytest.skip(f"cannot fetch the {package} sdist from PyPI: {exc}")
            done.touch()
    (unpacked,) = [p for p in root.iterdir() if p.is_dir()]
    return unpacked
