"""The hash-pinned requirements the user_data carries are read the same by the old pips of stock
images (20.3 on Debian 11's Python 3.9, 22.0 on Ubuntu 22.04's 3.10), not only by the pip the
bootstrap brings: an image built with DIB_STOKER_AGENT_WHEELHOUSE, or an operator, may install
with the image's own. Each runs from its wheel (as the bootstrap runs the wheelhouse's pip) on
that Python from pyenv, installs from the gathered wheelhouse with --require-hashes and no
index, and the installed agent runs."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest


def pyenv_python(version: str) -> Path | None:
    root = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv") / "versions"
    found = sorted(root.glob(f"{version}.*/bin/python{version}"))
    return found[-1] if found else None


@pytest.mark.slow
@pytest.mark.timeout(300)
@pytest.mark.parametrize("python, pip", [("3.9", "20.3.4"), ("3.10", "22.0.2")])
def test_an_old_pip_installs_the_agent_from_the_pinned_requirements(python, pip,
                                                                    agent_wheelhouse, tmp_path):
    interpreter = pyenv_python(python)
    if interpreter is None:
        pytest.skip(f"no Python {python} under pyenv here")
    manifest = json.loads((agent_wheelhouse / "manifest.json").read_text())
    if f"cp{python}-x86_64" not in manifest["targets"]:
        pytest.skip(f"the wheelhouse has no cp{python}-x86_64 ({manifest['targets']})")
    fetched = subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps",
                              "--only-binary=:all:", "-d", str(tmp_path), f"pip=={pip}"],
                             capture_output=True, text=True, timeout=120)
    if fetched.returncode != 0:
        pytest.skip(f"cannot fetch pip {pip}: {fetched.stderr.strip()[-300:]}")
    old_pip = next(tmp_path.glob(f"pip-{pip}-*.whl"))
    requirements = tmp_path / "requirements.txt"
    requirements.write_text(manifest["requirements"])
    venv = tmp_path / "venv"
    subprocess.run([str(interpreter), "-m", "venv", "--without-pip", str(venv)], check=True,
                   timeout=60)
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "PIP_CONFIG_FILE": os.devnull}
    done = subprocess.run([str(venv / "bin/python"), f"{old_pip}/pip", "install",
                           "--disable-pip-version-check", "--no-cache-dir", "--no-index",
                           "--find-links", str(agent_wheelhouse / "files"), "--require-hashes",
                           "-r", str(requirements)],
                          capture_output=True, text=True, timeout=240, env=env)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    ran = subprocess.run([str(venv / "bin/stoker"), "agent", "--help"], capture_output=True,
                         text=True, timeout=60, env=env)
    assert ran.returncode == 0 and "usage: stoker agent" in ran.stdout, ran.stderr

    # and the same old pip refuses a file that is not the pinned one
    agent = agent_wheelhouse / "files" / manifest["agent"]
    tampered = tmp_path / "tampered"
    tampered.mkdir()
    for path in (agent_wheelhouse / "files").iterdir():
        (tampered / path.name).symlink_to(path)
    (tampered / agent.name).unlink()
    (tampered / agent.name).write_bytes(agent.read_bytes() + b"\0")
    refused = subprocess.run([str(venv / "bin/python"), f"{old_pip}/pip", "install",
                              "--disable-pip-version-check", "--no-cache-dir", "--no-index",
                              "--force-reinstall", "--find-links", str(tampered),
                              "--require-hashes", "-r", str(requirements)],
                             capture_output=True, text=True, timeout=240, env=env)
    assert refused.returncode != 0
    assert "THESE PACKAGES DO NOT MATCH THE HASHES" in refused.stderr, refused.stderr[-2000:]
