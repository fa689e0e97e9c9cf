"""The local driver's servers as processes: one keeper (local_keeper.py) per server, shared
by every node and worker on the machine through the local-cloud directory.

Nothing here belongs to the process that runs it. A server's keeper and agent live in their
own session, so a worker or node that exits, or is killed, takes neither with it. Every node
(each gunicorn worker, each `stoker server` on the machine using this directory):

- rewrites the lease file `nodes.lease` (its grace) every few seconds; keepers end their
  agents when it has not changed for that grace, so when the last node is gone no agent is
  orphaned;
- sweeps the servers' roots as it starts and then every SWEEP seconds: a server whose keeper
  is gone is started again if it is still wanted (its local record and, with a store, its
  stoker server in the database exist); a keeper whose server is not wanted any more is
  stopped and its root removed. A database that cannot be asked stops nothing.

Decisions about one server are taken under its `agent.lock`, so nodes and workers sweeping
at once start one keeper, and a keeper's own `keeper.lock` (held for its life, handed over at
spawn) says whether it lives.
"""
from __future__ import annotations

import errno
import fcntl
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable

import psutil

from metadata_server.engine.drivers.base import CloudError
from metadata_server.engine.drivers.local_keeper import RECORD, kill_tree

CONF = Path("etc") / "os-collect-config.conf"
LEASE = "nodes.lease"
GRACE = 60.0          # seconds without any node before the agents stop themselves
SWEEP = 10.0          # seconds between a node's sweeps of the servers' roots
RESTART_AFTER = 5.0   # seconds between starts of one server's agent
STOP_WAIT = 20.0      # what stopping a server waits for its keeper (the agent gets 10 s)
MAX_SERVERS = 100     # servers with an agent per directory (a keeper and an agent each)
REPO = str(Path(__file__).resolve().parents[3])

log = logging.getLogger("stoker.local")


def _try_lock(path: Path) -> int | None:
    """An fd holding an exclusive flock on `path`, or None when another process holds it."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        os.close(fd)
        if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
            return None
        raise
    return fd


def keeper_alive(root: Path) -> bool:
    fd = _try_lock(root / "keeper.lock")
    if fd is None:
        return True
    os.close(fd)
    return False


def _recorded(root: Path, pid_key: str, time_key: str) -> psutil.Process | None:
    """The process `keeper.json` names, if that very one (pid and create time) still runs."""
    try:
        record = json.loads((root / RECORD).read_text())
        process = psutil.Process(int(record[pid_key]))
        if abs(process.create_time() - float(record[time_key])) < 0.01:
            return process
    except (OSError, ValueError, KeyError, TypeError, psutil.Error):
        pass
    return None


def recorded_keeper(root: Path) -> psutil.Process | None:
    return _recorded(root, "pid", "create_time")


def kill_recorded(root: Path) -> None:
    """SIGKILL the keeper recorded in `root`, its agent and their descendants (a keeper that
    does not stop; the test suite's clean-up)."""
    for found in (recorded_keeper(root), _recorded(root, "agent_pid", "agent_create_time")):
        if found is not None:
            kill_tree(found.pid)


def kill_all_under(top: Path) -> int:
    """Kill every keeper (and agent) recorded anywhere under `top`; how many roots had one."""
    killed = 0
    for here, dirs, files in os.walk(top):
        dirs[:] = [d for d in dirs if not d.startswith(".") and d != "site-packages"]
        if RECORD in files and (Path(here) / "keeper.lock").exists():
            root = Path(here)
            if recorded_keeper(root) or _recorded(root, "agent_pid", "agent_create_time"):
                kill_recorded(root)
                killed += 1
    return killed


class LocalServers:
    def __init__(self, directory: Path, agent_argv: list[str], *, grace: float = GRACE,
                 wanted: Callable[[str], bool | None] = lambda _id: True):
        self.roots = directory / "servers"
        self.lease = directory / LEASE
        self.agent_argv, self.grace, self.wanted = agent_argv, grace, wanted
        self._closing = threading.Event()
        self._thread: threading.Thread | None = None

    def root(self, server_id: str) -> Path:
        return self.roots / server_id

    # -- the node's side of the lease, and the sweep --------------------------------------
    def start_duties(self) -> None:
        """Adopt what the directory holds (touch the lease, sweep once), then keep both up in
        a daemon thread: also while this node has no server, for one another worker made."""
        self.touch_lease()
        self.sweep()
        self._thread = threading.Thread(target=self._duties, daemon=True,
                                        name="stoker-local-servers")
        self._thread.start()

    def _duties(self) -> None:
        beat, next_sweep = min(5.0, self.grace / 4), time.monotonic() + SWEEP
        while not self._closing.wait(beat):
            try:
                self.touch_lease()
                if time.monotonic() >= next_sweep:
                    next_sweep = time.monotonic() + SWEEP
                    self.sweep()
            except Exception:  # a full disk must not end the lease for good
                log.exception("local servers: lease or sweep failed")

    def touch_lease(self) -> None:
        """Rewrite the lease with this node's grace: its change says a node lives."""
        self.lease.parent.mkdir(parents=True, exist_ok=True)
        with open(self.lease, "w") as lease:
            lease.write(f"{self.grace!r}\n")
        os.utime(self.lease)    # the same bytes in the same second still move the mtime

    def close(self) -> None:
        """This process stops being a node; the keepers run on (see the module's docstring)."""
        self._closing.set()

    def sweep(self) -> None:
        try:
            roots = [r for r in self.roots.iterdir() if r.is_dir()]
        except FileNotFoundError:
            return
        for root in roots:
            if self._closing.is_set():
                return
            with self._deciding(root) as present:
                if not present:
                    continue
                wanted = self.wanted(root.name)
                if wanted is None:      # unknown (the database did not answer): leave it be
                    continue
                if not wanted:
                    log.info("local server %s is gone: stopping its agent", root.name)
                    self._stop(root)
                elif (root / CONF).exists() and not keeper_alive(root):
                    log.info("local server %s: starting its agent again", root.name)
                    self._spawn(root)

    @contextmanager
    def _deciding(self, root: Path):
        """Hold the server's decision lock; yields whether its root is still there."""
        try:
            fd = os.open(root / "agent.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        except FileNotFoundError:   # removed meanwhile
            yield False
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield root.is_dir()     # not removed while we waited for the lock
        finally:
            os.close(fd)

    # -- one server -------------------------------------------------------------------------
    def claim(self, server_id: str, limit: int) -> None:
        """Make the server's root, refusing one past `limit` (the caller holds the records'
        lock, which every process on the directory takes to create)."""
        self.roots.mkdir(parents=True, exist_ok=True)
        held = sum(1 for r in self.roots.iterdir() if r.is_dir())
        if held >= limit:
            raise CloudError(f"the local cloud runs at most {limit} servers with an agent "
                             f"({held} run here); delete one, or raise --local-max-servers")
        self.root(server_id).mkdir(exist_ok=True)

    def start(self, server_id: str, conf_text: str) -> None:
        """Write the server's agent configuration (0600: it holds a credential) and make sure
        its keeper runs."""
        root = self.root(server_id)
        conf = root / CONF
        conf.parent.mkdir(parents=True, exist_ok=True)
        tmp = conf.with_name(f".{conf.name}.{os.getpid()}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(conf_text)
        os.replace(tmp, conf)
        self.touch_lease()
        with self._deciding(root) as present:
            if present and not keeper_alive(root):
                self._spawn(root)

    def stop(self, server_id: str) -> None:
        """Stop the server's keeper (its agent gets a grace to end) and remove its root."""
        root = self.root(server_id)
        if root.is_dir():
            with self._deciding(root):
                self._stop(root)

    def stop_all(self) -> None:
        """Stop every server's keeper and keep the roots (the tests' clean-up; an operator's
        `stop` of the whole local cloud)."""
        try:
            roots = [r for r in self.roots.iterdir() if r.is_dir()]
        except FileNotFoundError:
            return
        for root in roots:
            self._stop_keeper(root)

    def _spawn(self, root: Path) -> None:
        held = _try_lock(root / "keeper.lock")
        if held is None:
            return
        env = dict(os.environ)
        env["PYTHONPATH"] = REPO + os.pathsep + env.get("PYTHONPATH", "")
        try:
            # the lock goes to the keeper with its fd: held from its first instant to its last
            with open(root / "keeper.log", "ab") as keeper_log:
                subprocess.Popen(
                    [sys.executable, "-m", "metadata_server.engine.drivers.local_keeper",
                     "--root", str(root), "--lease", str(self.lease), "--grace", f"{self.grace:g}",
                     "--restart-after", f"{RESTART_AFTER:g}", "--", *self.agent_argv],
                    stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=keeper_log,
                    env=env, cwd=root, start_new_session=True, pass_fds=(held,))
        finally:
            os.close(held)

    def _stop(self, root: Path) -> None:
        self._stop_keeper(root)
        shutil.rmtree(root, ignore_errors=True)

    def _stop_keeper(self, root: Path) -> None:
        """SIGTERM the keeper (it gives its agent STOP_TIMEOUT to end) and wait until its lock
        is free; SIGKILL it and its agent after STOP_WAIT."""
        end, termed, killed = time.monotonic() + STOP_WAIT, None, False
        while keeper_alive(root):
            keeper = recorded_keeper(root)   # none yet: a keeper just spawned writes it first
            if keeper is not None and keeper.pid != termed:
                try:
                    keeper.send_signal(signal.SIGTERM)
                    termed = keeper.pid
                except psutil.Error:
                    pass
            if time.monotonic() > end:
                if killed:
                    log.error("local server %s: its keeper cannot be stopped", root.name)
                    return
                log.warning("local server %s: its keeper did not stop; killing it", root.name)
                kill_recorded(root)
                end, killed = time.monotonic() + 5.0, True
            time.sleep(0.05)  # not our child: nothing to wait on but its lock
