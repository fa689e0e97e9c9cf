"""Unchanged-poll throughput and latency of `stoker server --workers 2`, beside a trivial endpoint.

Starts the real server under gunicorn (2 workers, SQLite in a temp dir) on loopback, registers a
server with one deployment, then drives wrk (Debian package `wrk`) against
  - the trivial endpoint GET /v1 (a version document through Flask's routing, no database), and
  - an agent's unchanged poll (X-Auth-Token + If-None-Match, answered 304),
alternately, several rounds each, and reports medians, the ratio, p99, and database queries per
unchanged poll read from the workers' /metrics.

    .venv/bin/python bench/server_poll.py [--rounds 5] [--seconds 5] [--connections 50]
"""
from __future__ import annotations

import argparse
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from cli.processes import Process, child_env, stoker_argv  # noqa: E402


def wrk(url: str, headers: dict[str, str], seconds: int, connections: int) -> tuple[float, float]:
    argv = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", "5s"]
    for name, value in headers.items():
        argv += ["-H", f"{name}: {value}"]
    out = subprocess.run(argv + [url], capture_output=True, text=True, check=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[p99.group(2)]
    if "Non-2xx or 3xx responses" in out:
        raise SystemExit(f"wrk saw errors:\n{out}")
    return rate, float(p99.group(1)) * scale


def queries_by_worker(base: str) -> dict[int, tuple[int, int]]:
    """pid -> (db queries, polls answered) for every worker seen in a few scrapes."""
    seen = {}
    for _ in range(40):
        text = requests.get(f"{base}/metrics", timeout=5).text
        pid = int(float(re.search(r"stoker_process_id (\S+)", text).group(1)))
        queries = int(float(re.search(r'stoker_db_queries_total\{origin="request"\} (\S+)',
                                      text).group(1)))
        polls = sum(int(n) for n in re.findall(r'stoker_polls_total\{answer="304",path="\w+"\} (\d+)', text))
        seen[pid] = (queries, polls)
        if len(seen) == 2:
            break
    return seen


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=50)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed: apt-get install wrk")
    state = Path(tempfile.mkdtemp(prefix="stoker-bench-"))
    admin = secrets.token_urlsafe(16)
    server = Process("server", stoker_argv("server", "--bind", "127.0.0.1:0", "--state-dir",
                                           str(state), "--workers", "2", "--log-level", "WARNING"),
                     state / "server.log", child_env(STOKER_ADMIN_TOKEN=admin))
    try:
        base = server.wait_for_line("listening on", 30).rsplit(" ", 1)[1]
        session = requests.Session()
        session.headers["X-Auth-Token"] = admin
        registered = session.post(f"{base}/v1/bench/servers", json={"name": "vm"}).json()
        sid, token = registered["server"]["id"], registered["credential"]["token"]
        config = session.post(f"{base}/v1/bench/software_configs",
                              json={"group": "script", "config": "#!/bin/sh\n"}).json()
        session.post(f"{base}/v1/bench/software_deployments", json={
            "config_id": config["software_config"]["id"], "server_id": sid,
            "signal_transport": "TEMP_URL_SIGNAL"})
        poll_url = f"{base}/v1/bench/servers/{sid}/metadata"
        for _ in range(10):  # both workers build and cache the document and the credential
            etag = requests.get(poll_url, headers={"X-Auth-Token": token}).headers["ETag"]
        poll_headers = {"X-Auth-Token": token, "If-None-Match": etag}
        before = queries_by_worker(base)
        trivial, polls, p99s = [], [], []
        for _ in range(args.rounds):
            trivial.append(wrk(f"{base}/v1", {}, args.seconds, args.connections)[0])
            rate, p99 = wrk(poll_url, poll_headers, args.seconds, args.connections)
            polls.append(rate)
            p99s.append(p99)
        after = queries_by_worker(base)
        queries = sum(after[p][0] - before.get(p, (0, 0))[0] for p in after)
        answered = sum(after[p][1] - before.get(p, (0, 0))[1] for p in after)
        print(f"trivial endpoint GET /v1 : median {statistics.median(trivial):8.0f} req/s  "
              f"(rounds: {', '.join(f'{r:.0f}' for r in trivial)})")
        print(f"unchanged poll (304)     : median {statistics.median(polls):8.0f} req/s  "
              f"(rounds: {', '.join(f'{r:.0f}' for r in polls)})")
        print(f"ratio poll / trivial     : {statistics.median(polls) / statistics.median(trivial):.2f}")
        print(f"poll p99 latency         : median {statistics.median(p99s):.2f} ms")
        print(f"database statements      : {queries} by requests during {answered} unchanged "
              f"polls ({queries / max(answered, 1):.4f} per poll; the change feed's own reads "
              "run on the background thread and are not counted)")
    finally:
        server.stop()
        shutil.rmtree(state, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
