"""Running one hook as a child process: its own process group, output streamed to files, a deadline.

The hook's stdout and stderr go straight to `<log dir>/stdout.log` and `stderr.log` (no pipes: a
chatty hook cannot block on a full pipe, the full output stays on disk for the operator, and a hook
left behind by a killed agent keeps writing somewhere harmless). At the deadline the hook's whole
tree gets SIGTERM, then SIGKILL after a grace period (psutil finds the descendants; the process
group catches those that were re-parented), and the run reports status 124 like timeout(1).

psutil is imported where it is used: the idle agent never starts a hook, and psutil is a few MB of
its memory.
"""
from __future__ import annotations

import logging
import os
import signal
import subprocess
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Mapping, Sequence

if TYPE_CHECKING:
    import psutil

log = logging.getLogger(__name__)

TIMEOUT_STATUS = 124
KILL_GRACE = 5.0


@dataclass
class HookRun:
    returncode: int
    stdout: str
    stderr: str
    timed_out: bool = False
    duration: float = 0.0


def run(argv: Sequence[str], stdin: bytes, env: Mapping[str, str], log_dir: str, timeout: float | None,
        cwd: str | None = None, on_start: Callable[[int, float], None] | None = None,
        grace: float = KILL_GRACE) -> HookRun:
    os.makedirs(log_dir, mode=0o700, exist_ok=True)
    out_path, err_path = os.path.join(log_dir, "stdout.log"), os.path.join(log_dir, "stderr.log")
    in_path = os.path.join(log_dir, ".stdin")
    # stdin from a file too: a pipe write of a large item could block before the hook reads it.
    fd = os.open(in_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(stdin)
    started = time.monotonic()
    with open(in_path, "rb") as fin, _log_file(out_path) as fout, _log_file(err_path) as ferr:
        os.unlink(in_path)  # the item carries secrets; the open descriptor is enough
        proc = subprocess.Popen(list(argv), stdin=fin, stdout=fout, stderr=ferr, env=dict(env), cwd=cwd,
                                start_new_session=True)
    if on_start is not None:
        on_start(proc.pid, _create_time(proc.pid))
    timed_out = False
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        log.warning("hook %s (pid %d) still running after %gs; killing its process group", argv[0], proc.pid,
                    timeout)
        kill_tree(proc.pid, grace)
        proc.wait()
    return HookRun(proc.returncode if not timed_out else TIMEOUT_STATUS, _read(out_path), _read(err_path),
                   timed_out, time.monotonic() - started)


def kill_tree(pid: int, grace: float = KILL_GRACE, create_time: float | None = None) -> bool:
    """SIGTERM the process `pid`, its descendants and its process group; SIGKILL what is left after
    `grace` seconds. With `create_time`, a pid that now belongs to another process is left alone.
    Returns whether anything was found to kill."""
    import psutil

    try:
        leader = psutil.Process(pid)
        if create_time is not None and abs(leader.create_time() - create_time) > 0.01:
            return False
        procs = [leader] + leader.children(recursive=True)
    except psutil.NoSuchProcess:
        procs = []
    members = {p.pid: p for p in procs}
    # the group may outlive its leader (a detached grandchild still in it)
    for p in psutil.process_iter():
        try:
            if p.pid not in members and os.getpgid(p.pid) == pid:
                members[p.pid] = p
        except (psutil.NoSuchProcess, ProcessLookupError, PermissionError, OSError):
            continue
    if not members:
        return False
    for p in members.values():
        _send(p, signal.SIGTERM)
    alive = _wait_gone(list(members.values()), grace)
    for p in alive:
        _send(p, signal.SIGKILL)
    _wait_gone(alive, grace)
    return True


def _wait_gone(procs: list[psutil.Process], timeout: float) -> list[psutil.Process]:
    """Wait until every process has exited; a zombie has (its parent reaps it, maybe not us)."""
    deadline = time.monotonic() + timeout
    while True:
        procs = [p for p in procs if _running(p)]
        if not procs or time.monotonic() >= deadline:
            return procs
        time.sleep(0.02)


def _running(proc: psutil.Process) -> bool:
    import psutil

    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def is_alive(pid: int | None, create_time: float | None) -> bool:
    import psutil

    if not pid:
        return False
    try:
        proc = psutil.Process(pid)
        if create_time is not None and abs(proc.create_time() - create_time) > 0.01:
            return False
        return proc.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def tail(text: str, limit: int, log_path: str | None = None) -> str:
    """The last `limit` characters of `text`, saying how much was cut and where the rest is."""
    if limit <= 0 or len(text) <= limit:
        return text
    where = f"; full output in {log_path}" if log_path else ""
    return f"[stoker: first {len(text) - limit} characters cut{where}]\n" + text[-limit:]


def _log_file(path: str):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    return os.fdopen(fd, "wb")


def _read(path: str) -> str:
    try:
        with open(path, "rb") as f:
            return f.read().decode("utf-8", errors="replace")
    except FileNotFoundError:
        return ""


def _create_time(pid: int) -> float | None:
    import psutil

    try:
        return psutil.Process(pid).create_time()
    except psutil.NoSuchProcess:
        return None


def _send(proc: psutil.Process, signum: int) -> None:
    import psutil

    try:
        proc.send_signal(signum)
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        pass
