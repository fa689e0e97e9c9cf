"""diskimage-builder from PyPI in a temp venv, and a throwaway root to run element hooks in."""
from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.upstream import require

REPO = Path(__file__).resolve().parents[2]


def _load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# the boot tests' throwaway root (host /usr read-only, own /etc, namespaces), reused here
_boot_root = _load("elements_boot_root", REPO / "tests/boot/boot_nocloud_root.py")


@pytest.fixture(scope="session")
def boot_root():
    """The module that builds and enters throwaway roots (tests/boot/boot_nocloud_root.py)."""
    return _boot_root


@pytest.fixture(scope="session")
def dib():
    """python of a temp venv with diskimage-builder from PyPI, and its built-in elements dir."""
    python = require(["diskimage-builder"]) / "bin" / "python"
    builtin = subprocess.run([str(python), "-c", "import diskimage_builder, os; print(os.path."
                              "join(os.path.dirname(diskimage_builder.__file__), 'elements'))"],
                             capture_output=True, text=True, check=True).stdout.strip()
    return python, builtin



@pytest.fixture(scope="module")
def wheels(tmp_path_factory):
    """stoker and its agent dependencies as wheels, for an install with no network."""
    out = tmp_path_factory.mktemp("wheels")
    done = _boot_root.build_wheels(REPO, out, tmp_path_factory.mktemp("wheel-build"))
    if done.returncode != 0:
        pytest.skip(f"cannot build the agent's wheels (package index unreachable?): "
                    f"{done.stderr.strip()[-300:]}")
    return out


@pytest.fixture
def image_root(tmp_path):
    if os.geteuid() != 0 or not shutil.which("unshare"):
        pytest.skip("running element hooks in a throwaway root needs root and unshare(1)")
    probe = subprocess.run(["unshare", "--mount", "--pid", "--net", "--fork", "true"],
                           capture_output=True, text=True)
    if probe.returncode != 0:
        pytest.skip(f"cannot create namespaces here: {probe.stderr.strip()}")
    return _boot_root.make_root(tmp_path / "root")
