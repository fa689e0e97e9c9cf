"""Run one script with a deadline; on expiry kill its whole process tree.

The script gets its own process group, so a timeout can kill the group; descendants that left the
group (setsid, daemons started by mistake) are found through psutil and killed too.
"""
from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import time


def run_with_deadline(argv: list[str], env: dict[str, str], deadline: float | None) -> tuple[int | None, bool]:
    """(returncode, timed_out); returncode is None when the script was killed."""
    try:
        proc = _start(argv, env)
    except OSError as e:
        print(f"{argv[0]}: cannot execute: {e.strerror}", file=sys.stderr)
        return 126, False
    try:
        if deadline is None:
            return proc.wait(), False
        try:
            return proc.wait(timeout=max(0.0, deadline - time.monotonic())), False
        except subprocess.TimeoutExpired:
            kill_tree(proc)
            return None, True
    except BaseException:
        kill_tree(proc)
        raise


def _start(argv: list[str], env: dict[str, str]) -> subprocess.Popen:
    try:
        return subprocess.Popen(argv, env=env, start_new_session=True, close_fds=True)
    except OSError as e:
        if e.errno != errno.ENOEXEC:
            raise
    # No "#!" line: dib-run-parts starts scripts from bash, which runs such a file as a bash script.
    return subprocess.Popen(["bash", *argv], env=env, start_new_session=True, close_fds=True)


def kill_tree(proc: subprocess.Popen) -> None:
    try:
        import psutil
        try:
            descendants = psutil.Process(proc.pid).children(recursive=True)
        except psutil.Error:
            descendants = []
    except ImportError:  # psutil is an agent dependency, but never let a timeout crash the run
        psutil, descendants = None, []
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    for child in descendants:
        try:
            child.kill()
        except Exception:
            pass
    proc.wait()
