"""Three `stoker server` nodes on one PostgreSQL database behind a real HAProxy, on loopback.

The balancer's URL is every node's --public-url, so signal, metadata and agent URLs name it and
an agent carries on when any one node dies. Every process is killed when the cluster stops,
whatever the test did.
"""
from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import time
from pathlib import Path

import requests

from cli.processes import Process, ProcessFailed, child_env, stoker_argv

HAPROXY_CONFIG = """\
global
    maxconn 2000
defaults
    mode http
    timeout connect 1s
    timeout client 90s
    timeout server 90s
    # a connection refused by a dead node is tried again on another one
    retries 3
    option redispatch
frontend stoker
    bind 127.0.0.1:{port}
    default_backend nodes
backend nodes
    balance roundrobin
    option httpchk GET /healthz
    default-server inter 300ms fall 2 rise 1
{servers}
"""
START_SECONDS = 60  # a loaded 2-core machine starts a node in seconds; allow for much worse


def haproxy_binary() -> str | None:
    return shutil.which("haproxy") or next(
        (p for p in ("/usr/sbin/haproxy", "/usr/local/sbin/haproxy") if os.access(p, os.X_OK)),
        None)


def free_port() -> int:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


class Cluster:
    def __init__(self, work: Path, db_url: str, haproxy: str, nodes: int = 3):
        self.work, self.db_url, self.haproxy_path = work, db_url, haproxy
        self.token = secrets.token_urlsafe(16)
        self.lb_port = free_port()
        self.public_url = f"http://127.0.0.1:{self.lb_port}"
        self.nodes: list[Process | None] = [None] * nodes
        self.urls: list[str] = [""] * nodes
        self.haproxy: Process | None = None
        self.agents: list[Process] = []
        self._starts = 0
        self.session = requests.Session()
        self.session.headers["X-Auth-Token"] = self.token

    # -- nodes ---------------------------------------------------------------------------------
    def _launch(self, index: int, port: int) -> Process:
        self._starts += 1
        state = self.work / f"node{index}"
        argv = stoker_argv("server", "--bind", f"127.0.0.1:{port}", "--state-dir", str(state),
                           "--db", self.db_url, "--public-url", self.public_url,
                           "--poll-interval", "1")
        return Process(f"node{index}", argv, self.work / f"node{index}-{self._starts}.log",
                       child_env(STOKER_ADMIN_TOKEN=self.token))

    def start(self) -> "Cluster":
        ports = [free_port() for _ in self.nodes]
        for index, port in enumerate(ports):
            self.nodes[index] = self._launch(index, port)
            self.urls[index] = f"http://127.0.0.1:{port}"
        for node in self.nodes:
            node.wait_for_line("listening on", START_SECONDS)
        self._start_haproxy(ports)
        return self

    def _start_haproxy(self, ports: list[int]) -> None:
        servers = "\n".join(f"    server node{i} 127.0.0.1:{p} check" for i, p in enumerate(ports))
        config = self.work / "haproxy.cfg"
        config.write_text(HAPROXY_CONFIG.format(port=self.lb_port, servers=servers))
        # -db: stay in the foreground, so stopping this process stops the balancer
        self.haproxy = Process("haproxy", [self.haproxy_path, "-db", "-f", str(config)],
                               self.work / "haproxy.log", child_env())
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            if self.haproxy.proc.poll() is not None:
                raise ProcessFailed(f"haproxy exited: {self.haproxy.log()}")
            try:
                if requests.get(f"{self.public_url}/healthz", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.1)
        raise ProcessFailed("haproxy did not answer on its port")

    def kill(self, index: int) -> None:
        """kill -9 one node: no shutdown, its database sessions end when the kernel closes them."""
        node = self.nodes[index]
        os.kill(node.proc.pid, signal.SIGKILL)
        node.proc.wait(10)

    def revive(self) -> None:
        """Start again every node that is not running (on its old port, behind the balancer)."""
        started = []
        for index, node in enumerate(self.nodes):
            if node.proc.poll() is not None:
                self.nodes[index] = self._launch(index, int(self.urls[index].rsplit(":", 1)[1]))
                started.append(self.nodes[index])
        for node in started:
            node.wait_for_line("listening on", START_SECONDS)

    # -- agents --------------------------------------------------------------------------------
    def start_agent(self, root: Path, agent_config: dict) -> Process:
        from cli.processes import write_agent_config
        write_agent_config(root, agent_config, polling_interval=1, min_polling_interval=0.2)
        agent = Process(f"agent-{len(self.agents)}", stoker_argv("agent", "--root", str(root)),
                        self.work / f"agent-{len(self.agents)}.log", child_env())
        self.agents.append(agent)
        return agent

    # -- teardown ------------------------------------------------------------------------------
    def stop(self) -> None:
        """Every process, whatever state it is in: agents, balancer, nodes."""
        for process in [*self.agents, self.haproxy, *self.nodes]:
            if process is None:
                continue
            try:
                process.stop(10)
            except Exception:  # already gone, or stuck: SIGKILL its group
                try:
                    os.killpg(process.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        self.session.close()

    def logs(self) -> str:
        return "\n".join(f"--- {p.log_path.name}\n{p.log()[-3000:]}"
                         for p in [*self.nodes, *self.agents] if p is not None)
