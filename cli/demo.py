"""`stoker demo` (and `make demo`): stoker's main job end to end on its embedded defaults.

Starts a server (SQLite in a throwaway state directory) and an agent process on this machine,
creates a script config and two deployments where the second's input is the first's output, waits
for both to reach COMPLETE, prints a table, and stops everything it started.
"""
from __future__ import annotations

import argparse
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

TENANT = "demo"
DEADLINE_SECONDS = 25

SCRIPT = """#!/bin/sh
echo "deploying $deploy_resource_name on $(hostname)"
echo "greeting is: $greeting (x$repeat)"
message=""
i=0
while [ "$i" -lt "$repeat" ]; do message="$message$greeting "; i=$((i + 1)); done
printf '%s' "${message% }" > "$heat_outputs_path.message"
printf '%s' "${#message}" > "$heat_outputs_path.length"
"""


class DemoFailed(Exception):
    pass


def register(subparsers, name: str, help_text: str) -> None:
    parser = subparsers.add_parser(
        name, help=help_text,
        description="Run stoker end to end on this machine: a server on a free loopback port "
        "with SQLite, one agent, a script config and two chained deployments.")
    parser.add_argument("--keep", action="store_true",
                        help="keep the demo's state directory (server database, agent root, logs)")
    parser.set_defaults(func=lambda args: run(keep=args.keep))


class Process:
    """A child process whose output goes to a log file; the first line can be awaited."""

    def __init__(self, name: str, argv: list[str], log_path: Path, env: dict[str, str]):
        self.name, self.log_path = name, log_path
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=open(log_path, "wb"),
                                     env=env, text=True, start_new_session=True)
        self.lines: list[str] = []
        self._first = threading.Event()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))
            self._first.set()
        self._first.set()

    def wait_for_line(self, needle: str, timeout: float) -> str:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            for line in self.lines:
                if needle in line:
                    return line
            if self.proc.poll() is not None:
                break
            self._first.wait(0.05)
        raise DemoFailed(f"{self.name} did not print {needle!r}; see {self.log_path}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


def _stoker(*args: str) -> list[str]:
    return [sys.executable, "-m", "cli.main", *args]


def _env() -> dict[str, str]:
    env = dict(os.environ)
    root = str(Path(__file__).resolve().parents[1])
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    return env


def _wait_complete(client, deployment_id: str, deadline: float, agent: Process) -> dict:
    while time.monotonic() < deadline:
        deployment = client.get(f"software_deployments/{deployment_id}")["software_deployment"]
        if deployment["status"] == "COMPLETE":
            return deployment
        if deployment["status"] == "FAILED":
            raise DemoFailed(f"deployment {deployment_id} FAILED: {deployment['status_reason']}")
        if agent.proc.poll() is not None:
            raise DemoFailed(f"the agent exited with {agent.proc.returncode}; see {agent.log_path}")
        time.sleep(0.2)
    raise DemoFailed(f"deployment {deployment_id} not COMPLETE within {DEADLINE_SECONDS}s; "
                     f"see {agent.log_path}")


class Client:
    def __init__(self, base: str, token: str):
        import requests

        self.session = requests.Session()
        self.session.headers["X-Auth-Token"] = token
        self.base = f"{base}/v1/{TENANT}/"

    def _check(self, response):
        if response.status_code >= 400:
            raise DemoFailed(f"{response.request.method} {response.url} -> "
                             f"{response.status_code}: {response.text[:300]}")
        return response.json()

    def get(self, path: str) -> dict:
        return self._check(self.session.get(self.base + path, timeout=10))

    def post(self, path: str, body: dict) -> dict:
        return self._check(self.session.post(self.base + path, json=body, timeout=10))


def _write_agent_config(root: Path, agent_config: dict) -> Path:
    path = root / "etc" / "os-collect-config.conf"
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write("[DEFAULT]\ncollectors = watch\npolling_interval = 1\n"
                     "min_polling_interval = 0.2\n\n[watch]\n"
                     f"metadata_url = {agent_config['metadata_url']}\n"
                     f"auth_token = {agent_config['auth_token']}\n")
    return path


def _table(rows: list[list[str]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    line = "+" + "+".join("-" * (w + 2) for w in widths) + "+"
    out = [line]
    for index, row in enumerate(rows):
        out.append("| " + " | ".join(cell.ljust(w) for cell, w in zip(row, widths)) + " |")
        if index == 0:
            out.append(line)
    out.append(line)
    return "\n".join(out)


def _summarise(name: str, deployment: dict) -> list[str]:
    outputs = deployment["output_values"] or {}
    shown = ", ".join(f"{k}={outputs[k]!r}" for k in outputs if not k.startswith("deploy_"))
    stdout = (outputs.get("deploy_stdout") or "").strip().splitlines()
    return [name, deployment["status"], shown, " / ".join(stdout[:2])]


def scenario(client: Client, agent_root: Path, start_agent) -> list[list[str]]:
    deadline = time.monotonic() + DEADLINE_SECONDS
    server = client.post("servers", {"name": "demo-vm"})
    _write_agent_config(agent_root, server["agent_config"])
    server_id = server["server"]["id"]
    config = client.post("software_configs", {
        "name": "greeter", "group": "script", "config": SCRIPT,
        "inputs": [{"name": "greeting", "type": "String", "default": "hello"},
                   {"name": "repeat", "type": "Number", "default": 1}],
        "outputs": [{"name": "message"}, {"name": "length", "type": "Number"}],
    })["software_config"]
    agent = start_agent()
    first = client.post("software_deployments", {
        "config_id": config["id"], "server_id": server_id, "signal_transport": "TEMP_URL_SIGNAL",
        "name": "10-first", "resource_name": "first",
        "input_values": {"greeting": "hello", "repeat": 2}})["software_deployment"]
    first = _wait_complete(client, first["id"], deadline, agent)
    # the second deployment's input is the first one's output, as get_attr would pass it
    second = client.post("software_deployments", {
        "config_id": config["id"], "server_id": server_id, "signal_transport": "TEMP_URL_SIGNAL",
        "name": "20-second", "resource_name": "second",
        "input_values": {"greeting": first["output_values"]["message"] + "!", "repeat": 1},
    })["software_deployment"]
    second = _wait_complete(client, second["id"], deadline, agent)
    return [["deployment", "status", "outputs", "stdout"],
            _summarise("10-first", first), _summarise("20-second", second)]


def run(keep: bool = False) -> int:
    started = time.monotonic()
    state = Path(tempfile.mkdtemp(prefix="stoker-demo-"))
    env = _env()
    env["STOKER_ADMIN_TOKEN"] = admin_token = secrets.token_urlsafe(24)
    processes: list[Process] = []
    ok = False
    try:
        server = Process("server", _stoker("server", "--bind", "127.0.0.1:0",
                                           "--state-dir", str(state / "server")),
                         state / "server.log", env)
        processes.append(server)
        base = server.wait_for_line("listening on", 15).rsplit(" ", 1)[1]
        print(f"server: {base} (SQLite in {state / 'server'})")
        agent_root = state / "agent-root"

        def start_agent() -> Process:
            agent = Process("agent", _stoker("agent", "--root", str(agent_root)),
                            state / "agent.log", env)
            processes.append(agent)
            print(f"agent: root {agent_root}, log {agent.log_path}")
            return agent

        rows = scenario(Client(base, admin_token), agent_root, start_agent)
        print(_table(rows))
        ok = all(row[1] == "COMPLETE" for row in rows[1:])
    except DemoFailed as exc:
        print(f"demo failed: {exc}", file=sys.stderr)
    finally:
        for process in reversed(processes):
            process.stop()
        if not ok and not keep:
            for process in processes:
                tail = process.log_path.read_text(errors="replace").splitlines()[-15:]
                print(f"--- last lines of {process.log_path.name} ---", file=sys.stderr)
                print("\n".join(tail), file=sys.stderr)
        if keep:
            print(f"state kept in {state}")
        else:
            shutil.rmtree(state, ignore_errors=True)
    print(f"demo {'passed' if ok else 'FAILED'} in {time.monotonic() - started:.1f}s; "
          "all processes stopped")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(run(keep="--keep" in sys.argv[1:]))
