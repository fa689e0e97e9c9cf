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


# A stop signal that arrives while a script is being started (Popen has not returned yet) must not
# end the run there: the script, in its own session, would be left running unseen. The handler
# holds it back until the script's process is known, then it ends the run and kills the script.
_starting = False
_held: list[int] = []


def stop(signum: int, frame: object = None) -> None:
    """The SIGTERM handler of os-refresh-config: exit 128 + signum, killing the running script."""
    if _starting:
        _held.append(signum)
        return
    raise SystemExit(128 + signum)


def run_with_deadline(argv: list[str], env: dict[str, str], deadline: float | None) -> tuple[int | None, bool]:
    """(returncode, timed_out); returncode is None when the script was killed."""
    global _starting
    _starting = True
    try:
        proc: subprocess.Popen | None = _start(argv, env)
    except OSError as e:
        print(f"{argv[0]}: cannot execute: {e.strerror}", file=sys.stderr)
        proc = None
    finally:
        _starting = False
    try:
        if _held:
            raise SystemExit(128 + _held.pop())
        if proc is None:
            return 126, False
        if deadline is None:
            return proc.wait(), False
        try:
            return proc.wait(timeout=max(0.0, deadline - time.monotonic())), False
        except subprocess.TimeoutExpired:
            kill_tree(proc)
            return None, True
    except BaseException:
        if proc is not None:
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
