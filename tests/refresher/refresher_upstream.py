"""Upstream os-refresh-config (with its dib-run-parts) in a throwaway venv, installed from PyPI.

Installed once per test session, bounded in time; the tests that need it are skipped with the
reason when PyPI cannot be reached.
"""
from __future__ import annotations

import os
import subprocess
import venv

INSTALL_TIMEOUT = 180
PACKAGE = "os-refresh-config==14.1.0"

_cache: dict[str, str] = {}


def install(directory: str) -> str:
    """The venv's bin directory (holding os-refresh-config and dib-run-parts)."""
    if "bin" in _cache:
        return _cache["bin"]
    if "error" in _cache:
        raise RuntimeError(_cache["error"])
    target = os.path.join(directory, "upstream-orc")
    python = os.path.join(target, "bin", "python")
    try:
        venv.EnvBuilder(with_pip=True).create(target)
        subprocess.run([python, "-m", "pip", "install", "-q", "--disable-pip-version-check", PACKAGE],
                       check=True, capture_output=True, timeout=INSTALL_TIMEOUT)
    except subprocess.TimeoutExpired:
        _cache["error"] = f"pip install {PACKAGE} took longer than {INSTALL_TIMEOUT}s"
    except subprocess.CalledProcessError as e:
        tail = e.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or [""]
        _cache["error"] = f"pip install {PACKAGE} failed (PyPI unreachable?): {tail[0]}"
    except Exception as e:
        _cache["error"] = f"cannot create a venv for upstream: {e}"
    if "error" in _cache:
        raise RuntimeError(_cache["error"])
    _cache["bin"] = os.path.join(target, "bin")
    return _cache["bin"]
