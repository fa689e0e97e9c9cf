"""Child processes for the demo and the end-to-end tests: logs to a file, awaitable stdout lines."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

# A server or agent asked to stop exits in a few seconds when the machine is idle; a loaded
# 2-core machine can take several times that, and one that hangs is still killed.
STOP_GRACE = 30.0


class ProcessFailed(Exception):
    pass


def stoker_argv(*args: str) -> list[str]:
    return [sys.executable, "-m", "cli.main", *args]


def child_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    env.update(extra)
    return env


class Process:
    """A child in its own session; stderr goes to `log_path`, stdout lines can be awaited."""

    def __init__(self, name: str, argv: list[str], log_path: Path, env: dict[str, str]):
        self.name, self.log_path = name, log_path
        with open(log_path, "wb") as log:
            self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=log, env=env,
                                         text=True, start_new_session=True)
        self.lines: list[str] = []
        self._changed = threading.Condition()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        for line in self.proc.stdout:
            with self._changed:
                self.lines.append(line.rstrip("\n"))
                self._changed.notify_all()
        self.proc.wait()
        with self._changed:
            self._changed.notify_all()

    def wait_for_line(self, needle: str, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for line in self.lines:
                    if needle in line:
                        return line
                left = deadline - time.monotonic()
                if left <= 0 or self.proc.poll() is not None:
                    raise ProcessFailed(f"{self.name} did not print {needle!r}; "
                                        f"see {self.log_path}")
                self._changed.wait(left)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self, timeout: float = STOP_GRACE) -> int:
        """SIGTERM the process group, SIGKILL it after `timeout`; the exit code (-9 if killed)."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        return self.proc.returncode


def start_server(state_dir: Path, admin_token: str, log_path: Path, db_url: str | None = None,
                 bind: str = "127.0.0.1:0", *extra: str) -> tuple[Process, str]:
    """A real `stoker server` on loopback (a free port by default; SQLite in `state_dir` unless
    `db_url` says otherwise); returns it and its base URL."""
    argv = stoker_argv("server", "--bind", bind, "--state-dir", str(state_dir), *extra)
    if db_url:
        argv += ["--db", db_url]
    server = Process("server", argv, log_path, child_env(STOKER_ADMIN_TOKEN=admin_token))
    try:
        line = server.wait_for_line("listening on", 20)
    except ProcessFailed:
        server.stop()
        raise
    return server, line.rsplit(" ", 1)[1]


def write_agent_config(root: Path, agent_config: dict, polling_interval: float = 1,
                       min_polling_interval: float = 0.2) -> Path:
    """The agent's os-collect-config.conf for a registered server (credentials mode 0600)."""
    path = root / "etc" / "os-collect-config.conf"
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write("[DEFAULT]\ncollectors = watch\n"
                     f"polling_interval = {polling_interval}\n"
                     f"min_polling_interval = {min_polling_interval}\n\n[watch]\n"
                     f"metadata_url = {agent_config['metadata_url']}\n"
                     f"auth_token = {agent_config['auth_token']}\n")
    return path
