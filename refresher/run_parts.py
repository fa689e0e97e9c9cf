"""dib-run-parts semantics: which scripts in a directory run, in what order, with what environment.

- candidates: regular files (symlinks followed) that are executable, whose name matches
  $RUN_PARTS_REGEX (default `^[0-9A-Za-z_-]+$`, so `foo.sh` is silently skipped);
- order: `LANG=C sort -n` on the names: by the leading (optionally negative, optionally decimal)
  number, a name with no number counting as 0, ties by the bytes of the name;
- environment: before a directory's scripts run, the files of `<dir>/../environment.d` whose
  names match `[0-9A-Za-z_.-]+` (executable or not) are sourced by bash; dib-run-parts sorts
  their full paths with `sort -n`, and a path has no leading number, so the order is plain byte
  order of the names (`10-b` before `9-a`); only exported variables reach the scripts;
- the first script that fails stops the directory.
"""
from __future__ import annotations

import os
import re
import subprocess
import time
from dataclasses import dataclass
from decimal import Decimal

from refresher.process import run_with_deadline

DEFAULT_REGEX = r"^[0-9A-Za-z_-]+$"
ENVIRONMENT_REGEX = re.compile(r"^[0-9A-Za-z_.-]+$")
_LEADING_NUMBER = re.compile(r"-?[0-9]*(?:\.[0-9]*)?")


class RunPartsError(Exception):
    """A directory that cannot be run (missing, or its environment.d failed)."""


@dataclass(frozen=True)
class ScriptResult:
    path: str
    phase: str
    duration: float
    returncode: int | None     # None when the script was killed on timeout
    timed_out: bool = False

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.timed_out

    @property
    def status(self) -> str:
        if self.timed_out:
            return "timed out (killed)"
        return f"exit {self.returncode}"


def sort_key(name: str) -> tuple[Decimal, bytes]:
    number = _LEADING_NUMBER.match(name).group()
    value = Decimal(number.rstrip(".") or "0") if any(c.isdigit() for c in number) else Decimal(0)
    return value, os.fsencode(name)


def list_scripts(directory: str, regex: str | None = None) -> list[str]:
    """Full paths of the scripts dib-run-parts would run from `directory`, in order."""
    if not os.path.isdir(directory):
        raise RunPartsError(f"{directory}: not a directory")
    pattern = re.compile(regex if regex is not None else os.environ.get("RUN_PARTS_REGEX", DEFAULT_REGEX))
    names = []
    for name in os.listdir(directory):
        path = os.path.join(directory, name)
        if pattern.search(name) and os.path.isfile(path) and os.access(path, os.X_OK):
            names.append(name)
    return [os.path.join(directory, name) for name in sorted(names, key=sort_key)]


def environment_files(directory: str) -> list[str]:
    env_dir = os.path.join(directory, os.pardir, "environment.d")
    if not os.path.isdir(env_dir):
        return []
    names = [n for n in os.listdir(env_dir)
             if ENVIRONMENT_REGEX.match(n) and os.path.isfile(os.path.join(env_dir, n))]
    return [os.path.normpath(os.path.join(env_dir, n)) for n in sorted(names, key=os.fsencode)]


def sourced_environment(files: list[str], base: dict[str, str]) -> dict[str, str]:
    """The exported environment after bash sources `files` in order, starting from `base`."""
    if not files:
        return dict(base)
    script = "".join(f'. "${i + 1}" || exit $?\n' for i in range(len(files))) + "env -0\n"
    done = subprocess.run(["bash", "-c", script, "environment.d", *files], env=base,
                          capture_output=True, check=False)
    if done.returncode != 0:
        detail = done.stderr.decode("utf-8", "replace").strip()
        raise RunPartsError(f"sourcing environment.d failed (exit {done.returncode}): {detail}")
    env = {}
    for entry in done.stdout.split(b"\0"):
        if b"=" in entry:
            key, _, value = entry.partition(b"=")
            env[os.fsdecode(key)] = os.fsdecode(value)
    for noise in ("SHLVL", "_", "PWD", "OLDPWD"):  # bash's own, not the files'
        if noise in base:
            env[noise] = base[noise]
        else:
            env.pop(noise, None)
    return env


def run_directory(directory: str, phase: str, log, deadline_for, base_env: dict[str, str] | None = None,
                  regex: str | None = None) -> list[ScriptResult]:
    """Run the directory's scripts in order until one fails; return what ran.

    `deadline_for()` gives the monotonic deadline for the next script (None: no limit).
    """
    scripts = list_scripts(directory, regex)
    env = sourced_environment(environment_files(directory), dict(os.environ if base_env is None else base_env))
    results = []
    for path in scripts:
        log.info("Running %s", path)
        started = time.monotonic()
        returncode, timed_out = run_with_deadline([path], env, deadline_for())
        result = ScriptResult(path, phase, time.monotonic() - started, returncode, timed_out)
        results.append(result)
        if not result.ok:
            log.error("%s %s after %.1fs", path, result.status, result.duration)
            break
        log.info("%s completed", path)
    return results
