"""Fault injection with real processes: a real `stoker server` and real `stoker agent` processes on
loopback, killed and restarted at the worst moments. Every test ends with the deployment's result
on the server, exactly once: zero lost results.
"""
from __future__ import annotations

import json
import secrets
import signal
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import psutil
import pytest
import requests

from agent.outbox import Outbox
from agent.signals import TransportSelector
from cli.processes import Process, child_env, stoker_argv, write_agent_config

pytestmark = pytest.mark.e2e
# a real `stoker server`: skipped where only the agent is installed (the agent-side runs on 3.9)
pytest.importorskip("flask", reason="needs the server (stoker[server], Python 3.11+)")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """`stoker server` on a fixed port, so it can be stopped and started again on the same state."""

    def __init__(self, tmp_path: Path):
        self.state_dir, self.port = tmp_path / "server", free_port()
        self.token = secrets.token_urlsafe(16)
        self.logs = tmp_path
        self.process: Process | None = None
        self.starts = 0
        self.base = f"http://127.0.0.1:{self.port}"

    def start(self) -> "Server":
        self.starts += 1
        self.process = Process("server", stoker_argv("server", "--bind", f"127.0.0.1:{self.port}",
                                                     "--state-dir", str(self.state_dir)),
                               self.logs / f"server-{self.starts}.log", child_env(STOKER_ADMIN_TOKEN=self.token))
        self.process.wait_for_line("listening on", 20)
        return self

    def stop(self) -> None:
        assert self.process.stop() == 0
        assert "Traceback" not in self.process.log()


class HoldingProxy:
    """A loopback HTTP proxy in front of the server. With `hold_results` set, a result signal is
    forwarded (the server applies it) but its answer is never returned: the agent is left waiting
    inside the signal, where the test kills it."""

    def __init__(self, upstream: str):
        self.upstream = upstream
        self.hold_results = False
        self.held = threading.Event()
        self.release = threading.Event()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _forward(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("content-length", "connection")}
                resp = requests.request(self.command, owner.upstream + self.path, data=body, headers=headers,
                                        timeout=30, allow_redirects=False)
                is_result = (self.command in ("PUT", "POST") and self.path.startswith("/v1/signal/")
                             and "X-Stoker-Phase" not in self.headers)
                if owner.hold_results and is_result:
                    owner.held.set()
                    owner.release.wait(30)
                    self.close_connection = True
                    return
                self.send_response(resp.status_code)
                for name, value in resp.headers.items():
                    if name.lower() not in ("content-length", "connection", "transfer-encoding", "content-encoding"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(resp.content)))
                self.end_headers()
                self.wfile.write(resp.content)

            do_GET = do_PUT = do_POST = do_DELETE = _forward

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def server(tmp_path):
    srv = Server(tmp_path).start()
    yield srv
    if srv.process.proc.poll() is None:
        srv.stop()


class Api:
    def __init__(self, base: str, token: str):
        self.base, self.api = base, f"{base}/v1/faults"
        self.session = requests.Session()
        self.session.headers["X-Auth-Token"] = token

    def post(self, path: str, body: dict) -> dict:
        resp = self.session.post(self.api + path, json=body, timeout=10)
        assert resp.status_code in (200, 201), resp.text
        return resp.json()

    def deployment(self, ident: str) -> dict:
        return self.session.get(f"{self.api}/software_deployments/{ident}", timeout=10).json()["software_deployment"]

    def wait(self, ident: str, predicate, timeout: float = 40) -> dict:
        """The server has no push channel for operators: poll the deployment until `predicate`."""
        deadline = time.monotonic() + timeout
        while True:
            deployment = self.deployment(ident)
            if predicate(deployment):
                return deployment
            assert time.monotonic() < deadline, f"deployment {ident} never got there: {deployment}"
            time.sleep(0.05)

    def deploy(self, root: Path, script: str, input_values: dict, poll: float = 0.5) -> tuple[str, str]:
        """Register a server, write its agent config under root, create one deployment.
        Returns (deployment id, derived config id = the agent's item id)."""
        registered = self.post("/servers", {"name": "vm"})
        write_agent_config(root, registered["agent_config"], polling_interval=poll, min_polling_interval=0.2)
        config = self.post("/software_configs", {
            "name": "cfg", "group": "script", "config": script,
            "inputs": [{"name": name} for name in input_values], "outputs": [{"name": "result"}]})["software_config"]
        deployment = self.post("/software_deployments", {
            "config_id": config["id"], "server_id": registered["server"]["id"], "signal_transport": "TEMP_URL_SIGNAL",
            "name": "fault", "input_values": input_values})["software_deployment"]
        return deployment["id"], deployment["config_id"]


def start_agent(root: Path, log: Path, *extra: str) -> Process:
    return Process("agent", stoker_argv("agent", "--root", str(root), "--signal-retry-max", "0.5", *extra), log,
                   child_env())


def wait_for_file(path: Path, agent: Process, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert agent.proc.poll() is None, agent.log()
        assert time.monotonic() < deadline, f"{path} never appeared; agent log:\n{agent.log()}"
        time.sleep(0.02)


def agent_state(root: Path, item_id: str) -> dict:
    return json.loads((root / "var/lib/stoker/deployments" / f"{item_id}.json").read_text())


def kill_9(agent: Process) -> None:
    agent.proc.send_signal(signal.SIGKILL)
    agent.proc.wait(10)


def outbox_files(root: Path) -> list[Path]:
    return sorted((root / "var/lib/stoker/outbox").glob("*.json"))


COUNTING_SCRIPT = """#!/bin/sh
echo run >> "$counter"
if [ "$(wc -l < "$counter")" -eq 1 ]; then
  touch "$started"
  sleep 60
fi
printf '%s' "runs=$(wc -l < "$counter")" > "$heat_outputs_path.result"
echo finished
"""


@pytest.mark.timeout(90)
def test_kill_9_during_a_hook_runs_it_again_after_restart(server, tmp_path):
    api = Api(server.base, server.token)
    root = tmp_path / "root"
    counter, started = tmp_path / "counter", tmp_path / "started"
    ident, item_id = api.deploy(root, COUNTING_SCRIPT, {"counter": str(counter), "started": str(started)})
    agent = start_agent(root, tmp_path / "agent-1.log")
    try:
        wait_for_file(started, agent)
        # the agent told the server the hook is running; the deployment is still IN_PROGRESS
        running = api.wait(ident, lambda d: d.get("phase") == "running")
        assert running["status"] == "IN_PROGRESS"
        state = agent_state(root, item_id)
        assert state["state"] == "running" and state["hook_pid"]
        kill_9(agent)
    finally:
        agent.stop()
    orphan = psutil.Process(state["hook_pid"])  # the hook outlived the agent, in its own group
    assert orphan.is_running()

    agent = start_agent(root, tmp_path / "agent-2.log")
    try:
        done = api.wait(ident, lambda d: d["status"] != "IN_PROGRESS")
    finally:
        assert agent.stop() == 0
    assert done["status"] == "COMPLETE", done
    assert done["output_values"]["result"] == "runs=2"
    assert done["output_values"]["deploy_stdout"] == "finished\n"
    assert not orphan.is_running() or orphan.status() == psutil.STATUS_ZOMBIE
    state = agent_state(root, item_id)
    assert state["state"] == "signalled" and state["interrupted"] == 1 and state["signal"] == "sent"
    assert "interrupted" in agent.log() and "Traceback" not in agent.log()
    assert outbox_files(root) == []


@pytest.mark.timeout(90)
def test_kill_9_during_a_signal_resends_the_same_result_which_changes_nothing(server, tmp_path):
    proxy = HoldingProxy(server.base)
    try:
        api = Api(proxy.base, server.token)  # register and deploy through the proxy: URLs point at it
        root = tmp_path / "root"
        counter = tmp_path / "counter"
        script = '#!/bin/sh\necho run >> "$counter"\nprintf first > "$heat_outputs_path.result"\n'
        ident, item_id = api.deploy(root, script, {"counter": str(counter)})
        proxy.hold_results = True
        agent = start_agent(root, tmp_path / "agent-1.log")
        try:
            assert proxy.held.wait(30), agent.log()
            # the server applied the result, the agent never heard back: kill it right there
            kill_9(agent)
        finally:
            agent.stop()
        applied = api.deployment(ident)
        assert applied["status"] == "COMPLETE" and applied["output_values"]["result"] == "first"
        [entry_file] = outbox_files(root)
        entry = json.loads(entry_file.read_text())
        assert agent_state(root, item_id)["state"] == "finished"
        assert agent_state(root, item_id)["attempt"] == entry["attempt"]

        # an operator puts the deployment back IN_PROGRESS: a resend of the old result must not complete it
        resp = api.session.put(f"{api.api}/software_deployments/{ident}", json={"status": "IN_PROGRESS"}, timeout=10)
        assert resp.status_code == 200, resp.text
        proxy.hold_results = False
        proxy.release.set()
        agent = start_agent(root, tmp_path / "agent-2.log")
        try:
            deadline = time.monotonic() + 30
            while agent_state(root, item_id)["state"] != "signalled":
                assert time.monotonic() < deadline, agent.log()
                time.sleep(0.05)
        finally:
            assert agent.stop() == 0
        after = api.deployment(ident)
        assert after["status"] == "IN_PROGRESS", after  # the duplicate changed nothing
        assert after["output_values"] == applied["output_values"]
        assert counter.read_text() == "run\n"  # the hook ran once
        assert outbox_files(root) == []
        assert "Traceback" not in agent.log()
    finally:
        proxy.close()


@pytest.mark.timeout(90)
def test_result_produced_while_the_server_is_down_arrives_after_it_restarts(server, tmp_path):
    api = Api(server.base, server.token)
    root = tmp_path / "root"
    go, started = tmp_path / "go", tmp_path / "started"
    script = ('#!/bin/sh\ntouch "$started"\nwhile [ ! -f "$go" ]; do sleep 0.05; done\n'
              'printf survived > "$heat_outputs_path.result"\n')
    ident, item_id = api.deploy(root, script, {"go": str(go), "started": str(started)})
    agent = start_agent(root, tmp_path / "agent.log")
    try:
        wait_for_file(started, agent)
        server.stop()
        go.touch()  # the hook finishes while nobody can take its result
        deadline = time.monotonic() + 30
        while not outbox_files(root) or "not delivered" not in agent.log():
            assert time.monotonic() < deadline, agent.log()
            time.sleep(0.05)
        assert agent_state(root, item_id)["state"] == "finished"

        server.start()  # same port, same state directory
        done = api.wait(ident, lambda d: d["status"] != "IN_PROGRESS")
        assert done["status"] == "COMPLETE" and done["output_values"]["result"] == "survived"
        deadline = time.monotonic() + 30
        while agent_state(root, item_id)["state"] != "signalled":
            assert time.monotonic() < deadline, agent.log()
            time.sleep(0.05)
    finally:
        assert agent.stop() == 0
    assert outbox_files(root) == []
    assert "Traceback" not in agent.log()


@pytest.mark.timeout(60)
def test_hung_hook_is_killed_at_its_timeout_and_reported(server, tmp_path):
    api = Api(server.base, server.token)
    root = tmp_path / "root"
    pidfile = tmp_path / "child.pid"
    script = '#!/bin/sh\necho "about to hang"\nsleep 300 &\necho $! > "$pidfile"\nwait\n'
    ident, item_id = api.deploy(root, script, {"pidfile": str(pidfile)})
    agent = start_agent(root, tmp_path / "agent.log", "--deploy-timeout", "1", "--kill-grace", "1")
    started = time.monotonic()
    try:
        done = api.wait(ident, lambda d: d["status"] != "IN_PROGRESS")
    finally:
        assert agent.stop() == 0
    assert time.monotonic() - started < 30
    assert done["status"] == "FAILED"
    assert done["status_reason"] == "deploy_status_code : Deployment exited with non-zero status code: 124"
    outputs = done["output_values"]
    assert outputs["deploy_status_code"] == 124
    assert "deployment timed out after 1s" in outputs["deploy_stderr"]
    child = int(pidfile.read_text())
    assert not psutil.pid_exists(child) or psutil.Process(child).status() == psutil.STATUS_ZOMBIE
    assert agent_state(root, item_id)["timed_out"] is True


@pytest.mark.timeout(60)
def test_the_same_signal_delivered_twice_changes_nothing(server, tmp_path):
    api = Api(server.base, server.token)
    ident, item_id = api.deploy(tmp_path / "root", "#!/bin/sh\n", {})
    server_id = api.deployment(ident)["server_id"]
    [item] = [i for i in api.session.get(f"{api.api}/software_deployments/metadata/{server_id}",
                                         timeout=10).json()["metadata"] if i["id"] == item_id]
    outbox = Outbox(str(tmp_path / "outbox"), choose=TransportSelector())
    first = {"deploy_stdout": "one", "deploy_stderr": "", "deploy_status_code": 0, "result": "A"}
    assert outbox.deliver(item, first, "attempt-A") == "sent"
    assert api.deployment(ident)["output_values"]["result"] == "A"

    api.session.put(f"{api.api}/software_deployments/{ident}", json={"status": "IN_PROGRESS"}, timeout=10)
    # the same result again (same attempt id, even with a different body): a duplicate, nothing changes
    assert outbox.deliver(item, dict(first, result="B"), "attempt-A") == "sent"
    again = api.deployment(ident)
    assert again["status"] == "IN_PROGRESS" and again["output_values"]["result"] == "A"
    # a new result (new attempt id) is applied: the check above could have failed
    assert outbox.deliver(item, dict(first, result="C"), "attempt-C") == "sent"
    assert api.deployment(ident)["output_values"]["result"] == "C"
