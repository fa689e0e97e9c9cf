"""Loads the refresher's fixture cases and runs one against a given os-refresh-config command.

A case (tests/refresher/fixtures/cases/<name>.json) lays out a base dir (scripts, environment.d,
symlinks), runs the command with $OS_REFRESH_CONFIG_BASE_DIR and a private --lockfile, and states
the exit status, the exact stdout (the scripts' output, so the run order), stderr fragments,
time bounds and what the lock file holds afterwards. `{base}` and `{tmp}` stand for the dirs.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from tests.placeholders import fill

CASES_DIR = Path(__file__).parent / "fixtures" / "cases"
REPO = Path(__file__).resolve().parents[2]


def case_names() -> list[str]:
    return sorted(p.stem for p in CASES_DIR.glob("*.json"))


def load(name: str) -> dict:
    return json.loads((CASES_DIR / f"{name}.json").read_text())


def stoker_command() -> list[str]:
    return [sys.executable, "-m", "refresher.cli"]


@dataclass
class Outcome:
    rc: int
    stdout: str
    stderr: str
    seconds: float
    lockfile: str | None


def run(case: dict, root: Path, command: list[str], extra_env: dict | None = None) -> Outcome:
    base = root / "base"
    base.mkdir(parents=True)
    dirs = {"base": str(base), "tmp": str(root)}
    for rel, spec in case.get("files", {}).items():
        spec = {"text": spec} if isinstance(spec, str) else spec
        path = base / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(spec["text"])
        path.chmod(int(spec.get("mode", "0755"), 8))
    for rel, target in case.get("symlinks", {}).items():
        (base / rel).parent.mkdir(parents=True, exist_ok=True)
        os.symlink(target, base / rel)
    lock = root / "orc.lock"
    env = {k: v for k, v in os.environ.items() if k not in ("RUN_PARTS_REGEX", "OS_CONFIG_FILES")}
    env.update({"OS_REFRESH_CONFIG_BASE_DIR": str(base), "PYTHONPATH": str(REPO), "LANG": "C"})
    env.update(extra_env or {})
    env.update(fill(case.get("env", {}), dirs))
    args = ["--lockfile", str(lock)] + fill(case.get("args", []), dirs)
    started = time.monotonic()
    done = subprocess.run(command + args, env=env, capture_output=True, text=True, timeout=60, cwd=root)
    seconds = time.monotonic() - started
    return Outcome(done.returncode, done.stdout, done.stderr, seconds,
                   lock.read_text() if lock.exists() else None)


def check(case: dict, outcome: Outcome, root: Path) -> None:
    expect = fill(case["expect"], {"base": str(root / "base"), "tmp": str(root)})
    context = f"rc={outcome.rc} {outcome.seconds:.1f}s\nstdout={outcome.stdout!r}\nstderr={outcome.stderr}"
    assert outcome.rc == expect["rc"], context
    assert "Traceback" not in outcome.stderr, context
    if "stdout" in expect:
        assert outcome.stdout == expect["stdout"], context
    if "stderr" in expect:
        assert outcome.stderr == expect["stderr"], context
    for fragment in expect.get("stderr_has", []):
        assert fragment in outcome.stderr, f"{fragment!r} not in stderr\n{context}"
    if "min_seconds" in expect:
        assert outcome.seconds >= expect["min_seconds"], context
    if "max_seconds" in expect:
        assert outcome.seconds <= expect["max_seconds"], context
    if "lockfile" in expect:
        assert outcome.lockfile == expect["lockfile"], context
