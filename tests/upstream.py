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
