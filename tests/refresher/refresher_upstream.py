"""Upstream os-refresh-config (with its dib-run-parts) in a throwaway venv, installed from PyPI.

Installed once per test session, bounded in time; the tests that need it are skipped with the
reason when PyPI cannot be reached.
"""
from __future__ import annotations

from tests.upstream import Unavailable, tool_venv

INSTALL_TIMEOUT = 180
PACKAGE = "os-refresh-config==14.1.0"

def install(directory: str) -> str:
    """The venv's bin directory (holding os-refresh-config and dib-run-parts).

    `directory` is kept for callers; the venv is shared (tests/upstream.py)."""
    try:
        return str(tool_venv([PACKAGE], INSTALL_TIMEOUT) / "bin")
    except Unavailable as exc:
        raise RuntimeError(str(exc)) from None
