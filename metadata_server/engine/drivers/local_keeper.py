"""The keeper of one local-driver server: a small process that runs the server's `stoker agent`.

A node's local driver starts one keeper per server, in its own session, so the agent belongs
to no worker and no node: any node on the machine may die, restart or exit while the agent
runs on. The keeper

- holds `keeper.lock` in the server's root for its whole life (inherited from the node that
  started it, so there is no instant where two keepers can both think they are the one): a
  node tells a live keeper by trying that lock, never by a pid that may have been recycled;
- records itself in `keeper.json` (pid, create time, agent pid) for stopping it and for the
  test suite's clean-up;
- starts the agent again when it exits (at most every --restart-after seconds), with
  PR_SET_PDEATHSIG so an agent whose keeper is killed gets SIGTERM instead of living on;
- stops the agent and exits on SIGTERM (its server was deleted), and when the nodes' lease
  file has not changed for the grace (--grace, then what the lease file says: the grace of
  the node that wrote it last): every node on the machine rewrites it every few seconds, so
  an unchanged lease means no node lives and the agent would otherwise be orphaned.

The lease is watched by its change, timed on this process's monotonic clock, so a wall-clock
jump neither stops the agents nor keeps them alive. Standard library and psutil only (the
drivers package around it imports no cloud library until used): one of these runs beside
every local server.
"""
from __future__ import annotations

import argparse
import ctypes
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil

RECORD = "keeper.json"
LOG = "agent.log"
LOG_LIMIT = 1 << 20      # the agent's log is rotated (one old copy) past this at each start
STOP_TIMEOUT = 10.0      # an agent asked to end (its hook may finish) is killed after this
PR_SET_PDEATHSIG = 1


def _die_with_parent(parent: int):
    """For the agent's preexec: SIGTERM when the keeper dies; and if it already has, exit."""
    def preexec() -> None:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        if os.getppid() != parent:
            os._exit(1)
    return preexec


def write_record(root: Path, **fields) -> None:
    me = psutil.Process()
    record = {"pid": me.pid, "create_time": me.create_time(), **fields}
    tmp = root / f".{RECORD}.{me.pid}"
    tmp.write_text(json.dumps(record))
    os.replace(tmp, root / RECORD)


class Keeper:
    def __init__(self, root: Path, agent_argv: list[str], lease: Path, grace: float,
                 restart_after: float):
        self.root, self.agent_argv, self.lease = root, agent_argv, lease
        self.grace, self.restart_after = grace, restart_after
        self.stopping = threading.Event()
        self.reason = ""
        self.agent: subprocess.Popen | None = None
        self.started_at = -restart_after
        self._last_failure = ""
        self._lease_seen = self._lease_mark()
        self._lease_changed_at = time.monotonic()

    def _lease_mark(self):
        try:
            st = os.stat(self.lease)
        except OSError:
            return None
        return st.st_ino, st.st_mtime_ns

    def _lease_stale(self) -> bool:
        mark, now = self._lease_mark(), time.monotonic()
        if mark != self._lease_seen:
            self._lease_seen, self._lease_changed_at = mark, now
            self.grace = self._leased_grace()
        return now - self._lease_changed_at > self.grace

    def _leased_grace(self) -> float:
        """The grace the node that touched the lease last asks for (a node restarted with
        another --local-agent-grace sets it for the agents it adopts)."""
        try:
            return positive_seconds(self.lease.read_text().strip())
        except (OSError, argparse.ArgumentTypeError):  # being written: keep the one we had
            return self.grace

    def _start_agent(self) -> None:
        log_path = self.root / LOG
        try:
            if log_path.stat().st_size > LOG_LIMIT:
                os.replace(log_path, self.root / f"{LOG}.1")
        except OSError:
            pass
        self.started_at = time.monotonic()
        try:
            with open(log_path, "ab") as log:
                self.agent = subprocess.Popen(
                    self.agent_argv + ["--root", str(self.root)], stdin=subprocess.DEVNULL,
                    stdout=log, stderr=log, start_new_session=True,
                    preexec_fn=_die_with_parent(os.getpid()))
        except OSError as exc:   # no such program, no memory: try again after restart_after
            said = f"stoker local keeper: cannot start the agent: {exc}"
            if said != self._last_failure:   # once, not every few seconds: the log is bounded
                print(said, file=sys.stderr, flush=True)
                self._last_failure = said
            self.agent = None
            return
        self._last_failure = ""
        try:
            born = psutil.Process(self.agent.pid).create_time()
        except psutil.Error:   # already gone: the next round starts it again
            born = None
        write_record(self.root, agent_pid=self.agent.pid, agent_create_time=born)

    def run(self) -> int:
        for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(signum, self._asked_to_stop)
        write_record(self.root, agent_pid=None, agent_create_time=None)
        while not self.stopping.is_set():
            if self._lease_stale():
                self.reason = f"no node touched {self.lease.name} for {self.grace:g} s"
                break
            if ((self.agent is None or self.agent.poll() is not None)
                    and time.monotonic() - self.started_at >= self.restart_after):
                self._start_agent()
            self.stopping.wait(min(1.0, self.grace / 8))
        self._stop_agent()
        print(f"stoker local keeper: agent stopped: {self.reason}", file=sys.stderr, flush=True)
        return 0

    def _asked_to_stop(self, signum, _frame) -> None:
        self.reason = f"asked to stop ({signal.Signals(signum).name})"
        self.stopping.set()

    def _stop_agent(self) -> None:
        agent = self.agent
        if agent is None or agent.poll() is not None:
            return
        agent.send_signal(signal.SIGTERM)   # the agent finishes a running hook first
        try:
            agent.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            kill_tree(agent.pid)
            agent.wait()


def kill_tree(pid: int) -> None:
    """SIGKILL a process and every descendant (hooks run in sessions of their own)."""
    try:
        top = psutil.Process(pid)
        family = [top] + top.children(recursive=True)
    except psutil.Error:
        return
    for process in family:
        try:
            process.kill()
        except psutil.Error:
            pass


def positive_seconds(text: str) -> float:
    """A number of seconds above 0 (argparse type of the grace options)."""
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds above 0")
    return value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m metadata_server.engine.drivers.local_keeper")
    parser.add_argument("--root", required=True, type=Path)
    parser.add_argument("--lease", required=True, type=Path)
    parser.add_argument("--grace", required=True, type=positive_seconds)
    parser.add_argument("--restart-after", type=positive_seconds, default=5.0)
    parser.add_argument("agent_argv", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    agent_argv = args.agent_argv[1:] if args.agent_argv[:1] == ["--"] else args.agent_argv
    if not agent_argv:
        parser.error("no agent command after --")
    return Keeper(args.root, agent_argv, args.lease, args.grace, args.restart_after).run()


if __name__ == "__main__":
    sys.exit(main())
