"""How many long-polling watchers one `stoker server` holds, and how fast a change wakes them,
in both serving modes side by side: the embedded server (one process, a thread per connection)
and `--workers N` (gunicorn workers that hold a waiting watch in their event loop, no thread).

For each mode: starts the server on loopback (SQLite), registers the servers, opens the watchers
(GET .../metadata?wait=60 with If-None-Match) from several client processes, each from its own
127.0.0.x source address (one process may open 20,000 files here, and one source address has
~28,000 ports), waits until the server has taken them all in, records the server's memory (all
its processes) and the API's latency while they are held, then creates one deployment per
server and measures, per watcher, the time from the start of its server's change to its answer.

    .venv/bin/python bench/server_watch.py [--mode both|embedded|workers] [--watchers 10000]
        [--servers 100] [--workers 2] [--threads 32] [--clients 4] [--postgres URL]

With --postgres (the URL of a database this bench may use as a template for its own, made
afresh for each mode and dropped after), both modes run on PostgreSQL, where a change reaches
the other workers by NOTIFY; on SQLite it reaches them by reading a table every 0.2 s.
"""
from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import re
import resource
import secrets
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

import psutil
import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from cli.processes import Process, child_env, stoker_argv  # noqa: E402
from tests.databases import fresh_postgres_database  # noqa: E402

WAIT = 60  # the longest wait the server grants: the whole measurement fits in it


def _raise_nofile() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


# -- the client processes ------------------------------------------------------------------------
async def _watch(host: str, port: int, source: str, target: tuple, key: int,
                 woke: list) -> None:
    path, token, etag = target
    try:
        reader, writer = await asyncio.open_connection(host, port, local_addr=(source, 0))
        writer.write((f"GET {path}?wait={WAIT} HTTP/1.1\r\nHost: {host}:{port}\r\n"
                      f"X-Auth-Token: {token}\r\nIf-None-Match: {etag}\r\n"
                      "Connection: close\r\n\r\n").encode())
        await writer.drain()
        woke[0] += 1  # sent
        status_line = await reader.readline()
        at = time.monotonic()
        woke.append((key, at, status_line.split()[1].decode() if status_line else "none"))
        writer.close()
    except OSError as exc:
        woke.append((key, time.monotonic(), f"error {type(exc).__name__}"))


async def _client_async(base: str, source: str, watchers: list, conn) -> None:
    parts = urlsplit(base)
    woke: list = [0]
    tasks = []
    for index, (key, target) in enumerate(watchers):
        tasks.append(asyncio.create_task(_watch(parts.hostname, parts.port, source, target,
                                                key, woke)))
        if index % 100 == 99:
            await asyncio.sleep(0.1)  # a ramp, as agents that start over some seconds
    while woke[0] + len(woke) - 1 < len(watchers):
        await asyncio.sleep(0.1)
    conn.send(("sent", woke[0]))
    await asyncio.gather(*tasks)
    conn.send(("woke", woke[1:]))


def _client(base: str, source: str, watchers: list, conn) -> None:
    _raise_nofile()
    asyncio.run(_client_async(base, source, watchers, conn))


# -- the server and what is measured on it -------------------------------------------------------
def _tree(pid: int) -> list[psutil.Process]:
    root = psutil.Process(pid)
    return [root, *root.children(recursive=True)]


def _memory(pid: int) -> tuple[float, float]:
    """(RSS summed, PSS summed) over the server's processes, in MiB: PSS shares the pages the
    forked workers have in common instead of counting them once per process."""
    rss = pss = 0
    for proc in _tree(pid):
        info = proc.memory_full_info()
        rss, pss = rss + info.rss, pss + info.pss
    return rss / 2**20, pss / 2**20


def _cpu(pid: int) -> float:
    return sum(sum(proc.cpu_times()[:2]) for proc in _tree(pid))


def _quiet(pid: int, seconds: float = 1.0) -> bool:
    procs = _tree(pid)
    for proc in procs:
        proc.cpu_percent(None)
    time.sleep(seconds)
    return sum(proc.cpu_percent(None) for proc in procs) < 10.0


def _gauge(base: str) -> int:
    text = requests.get(f"{base}/metrics", timeout=60).text
    return int(float(re.search(r"^stoker_watchers (\S+)", text, re.M).group(1)))


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _api_latency(base: str, admin: str, server_id: str, count: int = 100) -> dict:
    session = requests.Session()
    session.headers["X-Auth-Token"] = admin
    took = {"healthz": [], "api": []}
    for index in range(count):
        for name, url in (("healthz", f"{base}/healthz"),
                          ("api", f"{base}/v1/bench/servers/{server_id}")):
            started = time.monotonic()
            answer = session.get(url, timeout=60)
            took[name].append(time.monotonic() - started)
            assert answer.status_code == 200, answer.text
    return took


def measure(mode: str, args) -> dict:
    state = Path(tempfile.mkdtemp(prefix="stoker-watch-bench-"))
    admin = secrets.token_urlsafe(16)
    extra = ["--workers", str(args.workers), "--threads", str(args.threads)] \
        if mode == "workers" else []
    database = None
    if args.postgres:
        database = f"stoker_watch_bench_{mode}"
        extra += ["--db", fresh_postgres_database(args.postgres, database), "--single-node"]
    server = Process("server", stoker_argv("server", "--bind", "127.0.0.1:0", "--state-dir",
                                           str(state), "--log-level", "WARNING", *extra),
                     state / "server.log", child_env(STOKER_ADMIN_TOKEN=admin))
    clients = []
    try:
        base = server.wait_for_line("listening on", 60).rsplit(" ", 1)[1]
        pid = server.proc.pid
        session = requests.Session()
        session.headers["X-Auth-Token"] = admin
        config = session.post(f"{base}/v1/bench/software_configs",
                              json={"group": "script", "config": "#!/bin/sh\n"}).json()
        targets = []
        for index in range(args.servers):
            made = session.post(f"{base}/v1/bench/servers", json={"name": f"vm{index}"}).json()
            sid, token = made["server"]["id"], made["credential"]["token"]
            path = f"/v1/bench/servers/{sid}/metadata"
            etag = requests.get(base + path, headers={"X-Auth-Token": token}).headers["ETag"]
            targets.append((sid, path, token, etag))
        rss_idle, pss_idle = _memory(pid)  # every worker has answered by now
        shares = [[] for _ in range(args.clients)]
        for key in range(args.watchers):
            sid, path, token, etag = targets[key % args.servers]
            shares[key % args.clients].append((key, (path, token, etag)))
        pipes = []
        started = time.monotonic()
        for index, share in enumerate(shares):
            mine, theirs = multiprocessing.Pipe()
            proc = multiprocessing.Process(target=_client, args=(
                base, f"127.0.0.{1 + index % 250}", share, theirs), daemon=True)
            proc.start()
            clients.append(proc)
            pipes.append(mine)
        sent = sum(pipe.recv()[1] for pipe in pipes)
        if sent < args.watchers:
            raise SystemExit(f"{mode}: only {sent} of {args.watchers} watchers connected")
        # taken in: the embedded server counts its waiting watchers; gunicorn's workers each
        # count their own, so there the server's processes going quiet says it
        deadline = time.monotonic() + WAIT / 2
        while not _quiet(pid) or (mode == "embedded" and _gauge(base) < args.watchers):
            if time.monotonic() > deadline:
                raise SystemExit(f"{mode}: the watchers were not all taken in after "
                                 f"{WAIT / 2:.0f} s")
        held_after = time.monotonic() - started
        rss, pss = _memory(pid)
        threads = sum(proc.num_threads() for proc in _tree(pid))
        api = _api_latency(base, admin, targets[0][0])
        cpu_before = _cpu(pid)
        changed_at = {}
        for sid, *_ in targets:
            changed_at[sid] = time.monotonic()
            session.post(f"{base}/v1/bench/software_deployments", json={
                "config_id": config["software_config"]["id"], "server_id": sid,
                "signal_transport": "TEMP_URL_SIGNAL"})
        woke = [entry for pipe in pipes for entry in pipe.recv()[1]]
        wake_cpu = _cpu(pid) - cpu_before
        if time.monotonic() - started > WAIT:
            print(f"warning: {mode} took longer than the watchers' {WAIT} s wait")
        latencies = [at - changed_at[targets[key % args.servers][0]] for key, at, _ in woke]
        return {
            "mode": mode, "threads": threads, "held_after": held_after,
            "rss": rss, "pss": pss, "rss_idle": rss_idle, "pss_idle": pss_idle,
            "statuses": sorted({status for *_, status in woke}),
            "wake_p50": statistics.median(latencies), "wake_p99": _percentile(latencies, 0.99),
            "wake_max": max(latencies), "wake_cpu": wake_cpu,
            "healthz_p50": statistics.median(api["healthz"]),
            "healthz_p99": _percentile(api["healthz"], 0.99),
            "api_p50": statistics.median(api["api"]), "api_p99": _percentile(api["api"], 0.99),
        }
    finally:
        for proc in clients:
            proc.kill()
            proc.join()
        server.stop()
        shutil.rmtree(state, ignore_errors=True)
        if database:
            fresh_postgres_database(args.postgres, database, drop_only=True)


def report(results: list[dict], args) -> None:
    def row(label: str, cell) -> None:
        print(f"{label:<34}" + "".join(f"{cell(r):>22}" for r in results))

    print(f"{args.watchers} watchers on {args.servers} servers, {args.clients} client "
          f"processes; --workers {args.workers} --threads {args.threads}; "
          f"{'PostgreSQL' if args.postgres else 'SQLite'}")
    row("", lambda r: r["mode"])
    row("server threads while held", lambda r: str(r["threads"]))
    row("all taken in after (s)", lambda r: f"{r['held_after']:.1f}")
    row("memory RSS sum, MiB (at start)", lambda r: f"{r['rss']:.0f} ({r['rss_idle']:.0f})")
    row("memory PSS sum, MiB (at start)", lambda r: f"{r['pss']:.0f} ({r['pss_idle']:.0f})")
    row("PSS per watcher, KiB",
        lambda r: f"{(r['pss'] - r['pss_idle']) * 1024 / args.watchers:.1f}")
    row("wake-up p50 / p99 / max, ms", lambda r: f"{r['wake_p50'] * 1000:.0f} / "
        f"{r['wake_p99'] * 1000:.0f} / {r['wake_max'] * 1000:.0f}")
    row("server CPU per wake-up, us (*)",
        lambda r: f"{r['wake_cpu'] * 1e6 / args.watchers:.0f}")
    row("/healthz while held p50 / p99, ms",
        lambda r: f"{r['healthz_p50'] * 1000:.1f} / {r['healthz_p99'] * 1000:.1f}")
    row("GET server while held p50/p99, ms",
        lambda r: f"{r['api_p50'] * 1000:.1f} / {r['api_p99'] * 1000:.1f}")
    row("answers", lambda r: ",".join(r["statuses"]))
    print("(*) the server's CPU time from the first change to the last answer, including the "
          "changes themselves, over the number of watchers")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=("both", "embedded", "workers"), default="both")
    parser.add_argument("--watchers", type=int, default=10000)
    parser.add_argument("--servers", type=int, default=100)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=32)
    parser.add_argument("--clients", type=int, default=4,
                        help="client processes, each from its own 127.0.0.x address")
    parser.add_argument("--postgres", metavar="URL",
                        help="run on PostgreSQL (a fresh database made next to URL's)")
    args = parser.parse_args()
    _raise_nofile()
    modes = ("embedded", "workers") if args.mode == "both" else (args.mode,)
    report([measure(mode, args) for mode in modes], args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
