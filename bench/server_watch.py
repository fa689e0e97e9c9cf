"""How many long-polling watchers one `stoker server` holds, and how fast a change wakes them.

Starts the embedded server (one process, a thread per connection, SQLite) on loopback, registers
100 servers, opens N watchers (GET .../metadata?wait=55 with If-None-Match) spread over them from
one asyncio client, waits until the server reports them all waiting (/metrics stoker_watchers),
records the server's RSS, then creates one deployment per server and measures, per watcher, the
time from its server's change to its 200 answer.

    .venv/bin/python bench/server_watch.py [--watchers 10000] [--servers 100]
"""
from __future__ import annotations

import argparse
import asyncio
import re
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


async def watch(host: str, port: int, path: str, token: str, etag: str,
                woke: dict, key: int, changed_at: dict, ready: asyncio.Event) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    writer.write((f"GET {path}?wait=55 HTTP/1.1\r\nHost: {host}:{port}\r\n"
                  f"X-Auth-Token: {token}\r\nIf-None-Match: {etag}\r\n"
                  "Connection: close\r\n\r\n").encode())
    await writer.drain()
    status_line = await reader.readline()
    woke[key] = (time.monotonic(), status_line.split()[1].decode() if status_line else "none")
    writer.close()


def watchers_waiting(base: str) -> int:
    text = requests.get(f"{base}/metrics", timeout=60).text
    return int(float(re.search(r"stoker_watchers (\S+)", text).group(1)))


async def run(base: str, admin: str, watchers: int, servers: int) -> None:
    session = requests.Session()
    session.headers["X-Auth-Token"] = admin
    config = session.post(f"{base}/v1/bench/software_configs",
                          json={"group": "script", "config": "#!/bin/sh\n"}).json()
    targets = []
    for index in range(servers):
        registered = session.post(f"{base}/v1/bench/servers", json={"name": f"vm{index}"}).json()
        sid, token = registered["server"]["id"], registered["credential"]["token"]
        path = f"/v1/bench/servers/{sid}/metadata"
        etag = requests.get(base + path, headers={"X-Auth-Token": token}).headers["ETag"]
        targets.append((sid, path, token, etag))
    parts = urlsplit(base)
    woke: dict[int, tuple[float, str]] = {}
    changed_at: dict[str, float] = {}
    ready = asyncio.Event()
    tasks = []
    for key in range(watchers):
        sid, path, token, etag = targets[key % servers]
        tasks.append(asyncio.create_task(watch(parts.hostname, parts.port, path, token, etag,
                                               woke, key, changed_at, ready)))
        if key % 200 == 199:
            await asyncio.sleep(0.1)  # a ramp, as agents that start over a few seconds
    deadline = time.monotonic() + 120
    while (waiting := await asyncio.to_thread(watchers_waiting, base)) < watchers:
        if time.monotonic() > deadline:
            raise SystemExit(f"only {waiting} of {watchers} watchers are waiting after 120 s")
        await asyncio.sleep(0.5)
    return session, config, targets, woke, tasks, changed_at


async def main_async(args) -> None:
    state = Path(tempfile.mkdtemp(prefix="stoker-watch-bench-"))
    admin = secrets.token_urlsafe(16)
    server = Process("server", stoker_argv("server", "--bind", "127.0.0.1:0", "--state-dir",
                                           str(state), "--log-level", "WARNING"),
                     state / "server.log", child_env(STOKER_ADMIN_TOKEN=admin))
    try:
        base = server.wait_for_line("listening on", 30).rsplit(" ", 1)[1]
        rss_idle = psutil.Process(server.proc.pid).memory_info().rss
        session, config, targets, woke, tasks, changed_at = await run(
            base, admin, args.watchers, args.servers)
        rss = psutil.Process(server.proc.pid).memory_info().rss
        threads = psutil.Process(server.proc.pid).num_threads()
        committed_at = {}
        for sid, *_ in targets:
            changed_at[sid] = time.monotonic()
            await asyncio.to_thread(session.post, f"{base}/v1/bench/software_deployments", json={
                "config_id": config["software_config"]["id"], "server_id": sid,
                "signal_transport": "TEMP_URL_SIGNAL"})
            committed_at[sid] = time.monotonic()
        await asyncio.wait_for(asyncio.gather(*tasks), 120)
        latencies = sorted(woke[k][0] - changed_at[targets[k % args.servers][0]]
                           for k in range(args.watchers))
        change_took = sorted(committed_at[s] - changed_at[s] for s in changed_at)
        statuses = {woke[k][1] for k in woke}
        p = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))]  # noqa: E731
        print(f"watchers held          : {args.watchers} on {args.servers} servers "
              f"({threads} server threads)")
        print(f"server RSS             : {rss / 2**20:.0f} MiB with all watching "
              f"({rss_idle / 2**20:.0f} MiB at start; {(rss - rss_idle) / args.watchers / 1024:.1f} KiB per watcher)")
        print(f"wake-up after a change : median {statistics.median(latencies) * 1000:.0f} ms, "
              f"p99 {p(0.99) * 1000:.0f} ms, max {latencies[-1] * 1000:.0f} ms")
        print(f"answers                : {sorted(statuses)}; the changes themselves (POST "
              f"software_deployments) took median {statistics.median(change_took) * 1000:.0f} ms, "
              "included above")
    finally:
        server.stop()
        shutil.rmtree(state, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--watchers", type=int, default=10000)
    parser.add_argument("--servers", type=int, default=100)
    asyncio.run(main_async(parser.parse_args()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
