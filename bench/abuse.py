"""Other tenants' metadata polls and signals while one tenant creates the heaviest stack the
limits allow, beside the same requests on an idle server, and the server's peak RSS.

Starts a real `stoker server` (the embedded server; SQLite in a temp dir unless --db) on loopback.
A probe tenant registers a server with one deployment; `--clients` threads then repeat, each in
turn, an agent's metadata poll (GET with its token, answered from memory) and a signal
(PUT /v1/signal/deployments/{id}, phase "running": a database write). Each round measures them
for `--seconds` on the idle server, then while a heavy tenant creates a ResourceGroup of 8 provider
templates, each a group of 10 provider templates, each a group of 10 OS::Heat::TestResources that
wait `--leaf-wait` seconds (977 resources across 178 stacks, nested five deep), then deletes it.
It reports the medians over rounds of each p99, their ratio heavy / idle, errors, the create's
duration, and the server's peak RSS and thread count (psutil, sampled every 50 ms).

    .venv/bin/python bench/abuse.py [--rounds 3] [--seconds 5] [--clients 4] [--db URL]
        [--leaf-wait 0.05] [-- extra `stoker server` options, e.g. --engine-threads 64]
"""
from __future__ import annotations

import argparse
import json
import secrets
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil
import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from cli.processes import start_server  # noqa: E402


def group(count: int, member: dict) -> dict:
    return {"heat_template_version": "2018-08-31", "resources": {"group": {
        "type": "OS::Heat::ResourceGroup", "properties": {"count": count, "resource_def": member}}}}


def heavy_stack(name: str, leaf_wait: float) -> dict:
    leaf = {"type": "OS::Heat::TestResource", "properties": {"wait_secs": leaf_wait}}
    return {"stack_name": name, "template": group(8, {"type": "middle.yaml"}),
            "files": {"middle.yaml": json.dumps(group(10, {"type": "inner.yaml"})),
                      "inner.yaml": json.dumps(group(10, leaf))}}


class Probe:
    """A tenant's agent: polls and signals from `clients` threads until stopped."""

    def __init__(self, base: str, admin: requests.Session):
        registered = admin.post(f"{base}/v1/probe/servers", json={"name": "vm"}).json()
        sid, self.token = registered["server"]["id"], registered["credential"]["token"]
        config = admin.post(f"{base}/v1/probe/software_configs",
                            json={"group": "script", "config": "#!/bin/sh\n"}).json()
        deployment = admin.post(f"{base}/v1/probe/software_deployments", json={
            "config_id": config["software_config"]["id"], "server_id": sid,
            "signal_transport": "TEMP_URL_SIGNAL"}).json()["software_deployment"]
        self.poll_url = f"{base}/v1/probe/servers/{sid}/metadata"
        self.signal_url = f"{base}/v1/signal/deployments/{deployment['id']}"

    def run(self, clients: int, until: threading.Event) -> tuple[list, list, int]:
        polls, signals, errors, lock = [], [], [0], threading.Lock()

        def client():
            session = requests.Session()
            session.headers["X-Auth-Token"] = self.token
            while not until.is_set():
                for latencies, call in (
                        (polls, lambda: session.get(self.poll_url, timeout=60)),
                        (signals, lambda: session.put(self.signal_url, json={}, timeout=60,
                                                      headers={"X-Stoker-Phase": "running"}))):
                    started = time.monotonic()
                    try:
                        ok = call().status_code == 200
                    except requests.RequestException:
                        ok = False
                    with lock:
                        latencies.append(time.monotonic() - started)
                        errors[0] += not ok

        threads = [threading.Thread(target=client) for _ in range(clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return polls, signals, errors[0]


def p99(latencies: list[float]) -> float:
    ordered = sorted(latencies)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000 if ordered else 0.0


class Peak:
    """The server's peak RSS (MB) and threads, its children included, sampled in the back."""

    def __init__(self, pid: int):
        self.process = psutil.Process(pid)
        self.rss = self.threads = 0
        self._stop = threading.Event()
        threading.Thread(target=self._sample, daemon=True).start()

    def _sample(self):
        while not self._stop.wait(0.05):
            try:
                family = [self.process] + self.process.children(recursive=True)
                self.rss = max(self.rss, sum(p.memory_info().rss for p in family))
                self.threads = max(self.threads, sum(p.num_threads() for p in family))
            except psutil.Error:
                pass

    def stop(self):
        self._stop.set()


def stack_status(admin: requests.Session, url: str) -> str:
    return admin.get(url, timeout=60).json()["stack"]["stack_status"]


def heavy_round(base: str, admin: requests.Session, probe: Probe, clients: int,
                leaf_wait: float, index: int) -> tuple[list, list, int, float]:
    """Polls and signals for as long as the heavy create runs; the stack is deleted after."""
    started = time.monotonic()
    created = admin.post(f"{base}/v1/heavy/stacks", json=heavy_stack(f"heavy{index}", leaf_wait))
    if created.status_code != 201:
        raise SystemExit(f"heavy create refused: {created.status_code} {created.text}")
    url = f"{base}/v1/heavy/stacks/heavy{index}/{created.json()['stack']['id']}"
    done = threading.Event()
    result: list = []
    probing = threading.Thread(target=lambda: result.extend(probe.run(clients, done)))
    probing.start()
    pause = threading.Event()
    while (status := stack_status(admin, url)) == "CREATE_IN_PROGRESS":
        pause.wait(0.2)
    duration = time.monotonic() - started
    done.set()
    probing.join()
    if status != "CREATE_COMPLETE":
        raise SystemExit(f"heavy stack ended {status}")
    admin.delete(url, timeout=60)
    while stack_status(admin, url) == "DELETE_IN_PROGRESS":
        pause.wait(0.2)
    return result[0], result[1], result[2], duration


def idle_round(probe: Probe, clients: int, seconds: float) -> tuple[list, list, int]:
    done = threading.Event()
    threading.Timer(seconds, done.set).start()
    return probe.run(clients, done)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=5, help="idle measurement per round")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--leaf-wait", type=float, default=0.05)
    parser.add_argument("--db", help="database URL (default: SQLite in a temp dir)")
    parser.add_argument("server_options", nargs="*", help="after --: more `stoker server` options")
    args = parser.parse_args()
    state = Path(tempfile.mkdtemp(prefix="stoker-bench-"))
    admin_token = secrets.token_urlsafe(16)
    server, base = start_server(state, admin_token, state / "server.log", args.db,
                                "127.0.0.1:0", "--log-level", "WARNING", *args.server_options)
    peak = Peak(server.proc.pid)
    try:
        admin = requests.Session()
        admin.headers["X-Auth-Token"] = admin_token
        probe = Probe(base, admin)
        idle_rss = psutil.Process(server.proc.pid).memory_info().rss
        rows = {"idle": [], "heavy": []}
        durations, errors = [], {"idle": 0, "heavy": 0}
        for index in range(args.rounds):
            polls, signals, failed = idle_round(probe, args.clients, args.seconds)
            rows["idle"].append((p99(polls), p99(signals), len(polls)))
            errors["idle"] += failed
            polls, signals, failed, duration = heavy_round(base, admin, probe, args.clients,
                                                           args.leaf_wait, index)
            rows["heavy"].append((p99(polls), p99(signals), len(polls)))
            errors["heavy"] += failed
            durations.append(duration)
        print(f"server options: {' '.join(args.server_options) or '(defaults)'}; "
              f"{args.clients} probe clients; {args.rounds} rounds; database "
              f"{'SQLite' if not args.db else args.db.split(':', 1)[0]}")
        median = {phase: [statistics.median(r[i] for r in rows[phase]) for i in range(3)]
                  for phase in rows}
        for i, what in enumerate(("metadata poll", "signal")):
            idle, heavy = median["idle"][i], median["heavy"][i]
            print(f"{what:14} p99: idle {idle:7.1f} ms, during heavy create {heavy:7.1f} ms "
                  f"(ratio {heavy / idle if idle else float('nan'):.1f}); rounds: "
                  + ", ".join(f"{r[i]:.0f}/{h[i]:.0f}" for r, h in zip(rows["idle"],
                                                                      rows["heavy"])))
        print(f"requests per round (each kind): idle {median['idle'][2]:.0f} in "
              f"{args.seconds:g} s, heavy {median['heavy'][2]:.0f}; errors: idle "
              f"{errors['idle']}, heavy {errors['heavy']}")
        print(f"heavy create (977 resources, 178 stacks): median "
              f"{statistics.median(durations):.1f} s (rounds: "
              + ", ".join(f"{d:.1f}" for d in durations) + ")")
        print(f"server RSS: {idle_rss / 2**20:.0f} MB idle at start, peak {peak.rss / 2**20:.0f} MB;"
              f" peak threads {peak.threads}")
    finally:
        peak.stop()
        server.stop()
        shutil.rmtree(state, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
