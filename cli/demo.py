"""`stoker demo` (and `make demo`): stoker's main job end to end on its embedded defaults.

Starts a server (SQLite in a throwaway state directory) and an agent process on this machine,
creates a script config and two deployments where the second's input is the first's output, waits
for both to reach COMPLETE, prints a table, and stops everything it started.
"""
from __future__ import annotations

import secrets
import shutil
import sys
import tempfile
import time
from pathlib import Path

from cli.processes import (Process, ProcessFailed, child_env, start_server, stoker_argv,
                           write_agent_config)

TENANT = "demo"
DEADLINE_SECONDS = 25

SCRIPT = """#!/bin/sh
echo "deploying $deploy_resource_name on $(hostname)"
echo "greeting is: $greeting (x$repeat)"
message=""
i=0
while [ "$i" -lt "$repeat" ]; do message="$message$greeting "; i=$((i + 1)); done
message="${message% }"
printf '%s' "$message" > "$heat_outputs_path.message"
printf '%s' "${#message}" > "$heat_outputs_path.length"
"""


class DemoFailed(ProcessFailed):
    pass


def register(subparsers, name: str, help_text: str) -> None:
    parser = subparsers.add_parser(
        name, help=help_text,
        description="Run stoker end to end on this machine: a server on a free loopback port "
        "with SQLite, one agent, a script config and two chained deployments.")
    parser.add_argument("--keep", action="store_true",
                        help="keep the demo's state directory (server database, agent root, logs)")
    parser.add_argument("--scaling", action="store_true",
                        help="instead: a group of servers that grows from 1 to 3 on the load its "
                        "agents report, each new member's deployment running, and shrinks back "
                        "(examples/scaling/)")
    parser.set_defaults(func=_run)


def _run(args) -> int:
    if args.scaling:
        from cli import demo_scaling
        return demo_scaling.run(keep=args.keep)
    return run(keep=args.keep)


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
    write_agent_config(agent_root, server["agent_config"])
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
    admin_token = secrets.token_hex(24)
    processes: list[Process] = []
    ok = False
    try:
        server, base = start_server(state / "server", admin_token, state / "server.log")
        processes.append(server)
        print(f"server: {base} (SQLite in {state / 'server'})")
        agent_root = state / "agent-root"

        def start_agent() -> Process:
            agent = Process("agent", stoker_argv("agent", "--root", str(agent_root)),
                            state / "agent.log", child_env())
            processes.append(agent)
            print(f"agent: root {agent_root}, log {agent.log_path}")
            return agent

        rows = scenario(Client(base, admin_token), agent_root, start_agent)
        print(_table(rows))
        ok = all(row[1] == "COMPLETE" for row in rows[1:])
    except ProcessFailed as exc:
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
