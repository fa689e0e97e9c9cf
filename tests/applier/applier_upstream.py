"""Upstream os-apply-config in a throwaway venv, installed from PyPI at test time.

Installed once per test session (bounded in time); when PyPI cannot be reached the tests that need
it are skipped with the reason. Upstream is run through a tiny wrapper so that, running as root,
it does not append to the hard-coded /var/log/os-apply-config.log.
"""
from __future__ import annotations

import os
import sys

from tests.upstream import Unavailable, tool_venv

INSTALL_TIMEOUT = 180
PACKAGE = "os-apply-config==14.1.0"

# The wrapper: upstream's main() with its root-only log file handler turned into a no-op.
WRAPPER = (
    "import logging, sys\n"
    "logging.FileHandler = lambda *a, **k: logging.NullHandler()\n"
    "from os_apply_config.apply_config import main\n"
    "sys.exit(main(['os-apply-config'] + sys.argv[1:]))\n"
)

# Renders a JSON list of [template, context] pairs with upstream's own renderer.
RENDER_SCRIPT = (
    "import json, sys\n"
    "from os_apply_config.apply_config import render_moustache\n"
    "out = []\n"
    "for text, ctx in json.load(sys.stdin):\n"
    "    try:\n"
    "        out.append(['ok', render_moustache(text, ctx)])\n"
    "    except Exception as e:\n"
    "        out.append(['error', type(e).__name__])\n"
    "json.dump(out, sys.stdout)\n"
)

def install(directory: str) -> str:
    """The venv's python, or raise RuntimeError saying why it could not be installed.

    `directory` is kept for callers; the venv is shared (tests/upstream.py)."""
    try:
        target = tool_venv([PACKAGE], INSTALL_TIMEOUT)
    except Unavailable as exc:
        raise RuntimeError(str(exc)) from None
    (target / "oac_wrapper.py").write_text(WRAPPER)
    return str(target / "bin" / "python")


def command(python: str) -> list[str]:
    return [python, os.path.join(os.path.dirname(os.path.dirname(python)), "oac_wrapper.py")]


def stoker_command() -> list[str]:
    return [sys.executable, "-m", "applier.cli"]
