"""The embedded default driver: clouds objects recorded in a JSON file on this machine.

Networks, subnets, ports, volumes and the rest are records with stable ids and plausible
attributes. A server is a record too and, when it comes with collector settings (a
SOFTWARE_CONFIG server), a `stoker agent` process on this machine with its own root directory
under the state directory, polling this metadata server: the local stand-in for a booted VM.
Deleting the server stops its agent. Like a VM, the agent runs until its server is deleted:
one that exits is started again (at most every RESTART_AFTER seconds), and a new driver on the
same state directory (a restarted metadata server) adopts the agents still running (a crashed
server left them; a stopping one gives each a short grace to end, and one in the middle of a
hook finishes it first) and boots the others again from their roots, whose state lets the agent
pick up where it stopped.
"""
from __future__ import annotations

import atexit
import fcntl
import ipaddress
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

NAMESPACE = uuid.UUID("6f1c1d2e-7c55-4a51-9d3b-5c6c2f0a7e11")
CONF = Path("etc") / "os-collect-config.conf"
PID_FILE = "agent.pid"
RESTART_AFTER = 5.0   # seconds between starts of one server's agent
STOP_GRACE = 3.0      # what the driver waits, in all, for its agents to end when it closes


class _Adopted:
    """An agent process this driver did not start (a crashed server's): what the driver needs
    of a Popen, by pid."""

    def __init__(self, pid: int):
        self.pid = pid

    @classmethod
    def find(cls, root: Path) -> "_Adopted | None":
        """The agent still running for `root`, if its pid file names a live process whose
        command line is an agent's for that root (a recycled pid is someone else's)."""
        try:
            pid = int((root / PID_FILE).read_text())
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except (OSError, ValueError):
            return None
        return cls(pid) if b"agent" in argv and str(root).encode() in argv else None

    def poll(self) -> int | None:
        try:
            state = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            return 0
        return 0 if state in ("Z", "X") else None  # a zombie has exited; its parent reaps it

    def send_signal(self, sig: int) -> None:
        try:
            os.kill(self.pid, sig)
        except ProcessLookupError:
            pass

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def wait(self, timeout: float | None = None) -> int:
        gone, end = threading.Event(), None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if end is not None and time.monotonic() > end:
                raise subprocess.TimeoutExpired(str(self.pid), timeout)
            gone.wait(0.05)  # not our child: no wait(2), so look again shortly
        return 0


class LocalDriver:
    name = "local"
    boots_user_data = False   # its servers never boot an image: no agent install needed

    def __init__(self, state_dir: str | os.PathLike | None = None,
                 agent_argv: list[str] | None = None, polling_interval: float = 1.0):
        self._dir = Path(state_dir) if state_dir else None
        self._path = self._dir / "local-cloud.json" if self._dir else None
        self._lock = threading.Lock()
        self._objects: dict[str, dict] = self._load()
        self._counter = len(self._objects)
        # how to start an agent; None with no state directory: servers stay records
        self._agent_argv = agent_argv or [sys.executable, "-m", "cli.main", "agent"]
        self._polling_interval = polling_interval
        self._agents: dict[str, subprocess.Popen | _Adopted] = {}
        self._started_at: dict[str, float] = {}
        self._closing = threading.Event()
        self._supervisor: threading.Thread | None = None
        atexit.register(self.close)
        self._boot_recorded()

    def _boot_recorded(self) -> None:
        for server_id, record in self._objects.items():
            root = self._dir / "servers" / server_id if self._dir else None
            if record.get("kind") != "server" or root is None or not (root / CONF).exists():
                continue
            # gunicorn workers each make a driver: one of them boots the agent, the rest adopt it
            with open(root / "agent.lock", "a") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX)
                running = _Adopted.find(root)
                if running is not None:
                    self._agents[server_id] = running
                else:
                    self._spawn(server_id, root)

    # -- servers as agent processes ----------------------------------------------------------
    def _start_agent(self, server_id: str, settings: dict) -> None:
        watch = (settings or {}).get("watch")
        if self._dir is None or not watch:
            return
        root = self._dir / "servers" / server_id
        conf = root / CONF
        conf.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(conf, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # holds a credential
        with os.fdopen(fd, "w") as handle:
            handle.write("[DEFAULT]\ncollectors = watch\n"
                         f"polling_interval = {self._polling_interval}\n"
                         "min_polling_interval = 0.2\n\n[watch]\n"
                         f"metadata_url = {watch['metadata_url']}\n"
                         f"auth_token = {watch['auth_token']}\n")
        self._spawn(server_id, root)

    def _spawn(self, server_id: str, root: Path) -> None:
        log = open(root / "agent.log", "ab")
        env = dict(os.environ)
        repo = str(Path(__file__).resolve().parents[3])
        env["PYTHONPATH"] = repo + os.pathsep + env.get("PYTHONPATH", "")
        process = subprocess.Popen(
            self._agent_argv + ["--root", str(root)], stdin=subprocess.DEVNULL,
            stdout=log, stderr=log, env=env, start_new_session=True)
        log.close()
        (root / PID_FILE).write_text(f"{process.pid}\n")
        self._agents[server_id] = process
        self._started_at[server_id] = time.monotonic()
        if self._supervisor is None:
            self._supervisor = threading.Thread(target=self._supervise, daemon=True,
                                                name="stoker-local-vms")
            self._supervisor.start()

    def _supervise(self) -> None:
        """Start again the agent of a server that still exists when it has exited."""
        while not self._closing.wait(1.0):
            for server_id, process in list(self._agents.items()):
                if process.poll() is None or time.monotonic() - self._started_at.get(
                        server_id, 0) < RESTART_AFTER:
                    continue
                with self._lock:
                    if (not self._closing.is_set() and self._agents.get(server_id) is process
                            and server_id in self._objects):
                        self._spawn(server_id, self._dir / "servers" / server_id)

    def _stop_agent(self, server_id: str) -> None:
        process = self._agents.pop(server_id, None)
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def agent(self, server_id: str) -> subprocess.Popen | None:
        return self._agents.get(server_id)

    def close(self) -> None:
        """This machine's metadata server stops: every agent is asked to end, all at once, and
        waited for up to STOP_GRACE in all; one still running (its hook has not finished) is
        left to finish, and the next driver adopts it or boots it again."""
        self._closing.set()
        agents = list(self._agents.values())
        self._agents.clear()
        for process in agents:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        end = time.monotonic() + STOP_GRACE
        for process in agents:
            try:
                process.wait(max(0.0, end - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass

    def _load(self) -> dict:
        if self._path and self._path.exists():
            return json.loads(self._path.read_text())
        return {}

    def _save(self) -> None:
        if not self._path:
            return
        self._path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self._path.parent, prefix=".local-cloud.")
        with os.fdopen(fd, "w") as handle:
            json.dump(self._objects, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, self._path)

    def _attributes(self, kind: str, physical_id: str, name: str, properties: dict) -> dict:
        attributes: dict[str, Any] = {"id": physical_id, "name": name}
        self._counter += 1
        if kind == "subnet":
            cidr = properties.get("cidr") or "10.0.0.0/24"
            network = ipaddress.ip_network(cidr, strict=False)
            attributes.update(cidr=str(network), gateway_ip=str(next(network.hosts())),
                              ip_version=network.version)
        elif kind in ("port", "server"):
            attributes.update(first_address=f"10.0.{self._counter // 250}.{self._counter % 250 + 2}",
                              mac_address="fa:16:3e:%02x:%02x:%02x" % (
                                  self._counter >> 16 & 255, self._counter >> 8 & 255,
                                  self._counter & 255))
            attributes["fixed_ips"] = [{"ip_address": attributes["first_address"]}]
        elif kind == "floating_ip":
            attributes["floating_ip_address"] = f"172.24.4.{self._counter % 250 + 2}"
        elif kind == "volume":
            attributes.update(size=properties.get("size"), status="available")
        elif kind == "keypair":
            attributes.update(public_key=properties.get("public_key") or "ssh-ed25519 AAAA-local")
        attributes.update({k: v for k, v in properties.items() if k not in attributes})
        return attributes

    def create(self, kind, name, properties, *, physical_id=None):
        with self._lock:
            physical_id = physical_id or str(uuid.uuid5(NAMESPACE, f"{kind}/{name}/{self._counter}"))
            settings = properties.get("os_collect_config")
            recorded = {k: v for k, v in properties.items()
                        if k not in ("os_collect_config", "user_data", "admin_pass")}
            attributes = self._attributes(kind, physical_id, name, recorded)
            self._objects[physical_id] = {"kind": kind, "attributes": attributes}
            self._save()
            if kind == "server":
                self._start_agent(physical_id, settings)
            return physical_id, attributes

    def update(self, kind, physical_id, properties):
        with self._lock:
            record = self._objects.setdefault(physical_id, {"kind": kind, "attributes": {}})
            record["attributes"].update(properties)
            self._save()
            return dict(record["attributes"])

    def delete(self, kind, physical_id):
        if kind == "server":
            self._stop_agent(physical_id)
        with self._lock:
            if self._objects.pop(physical_id, None) is not None:
                self._save()

    def show(self, kind, physical_id):
        with self._lock:
            record = self._objects.get(physical_id)
            return dict(record["attributes"]) if record else None
