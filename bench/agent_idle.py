"""Idle cost of the in-guest agent: RSS and CPU of `stoker agent` and of `os-collect-config`.

Starts `stoker server` (SQLite) on loopback, registers a server, then runs each agent against it with
the default settings (watch collector, long poll, polling_interval 30) and no deployments, and
samples the process with psutil once a second for --seconds (default 60) after its first poll.

    .venv/bin/python bench/agent_idle.py [--seconds 60]

Goal (issue 3): at most 30 MB RSS and near-zero CPU while idle.
"""
from __future__ import annotations

import argparse
import secrets
import sys
import tempfile
import time
from pathlib import Path

import psutil
import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from cli.processes import Process, child_env, start_server, stoker_argv  # noqa: E402


def measure(name: str, argv: list[str], workdir: Path, seconds: float, ready) -> dict:
    proc = Process(name, argv, workdir / f"{name}.log", child_env())
    try:
        deadline = time.monotonic() + 30
        while not ready(proc) and time.monotonic() < deadline:
            time.sleep(0.2)
        ps = psutil.Process(proc.proc.pid)
        time.sleep(2)  # let the first poll and imports settle before measuring idle
        cpu0 = ps.cpu_times()
        rss, started = [], time.monotonic()
        while time.monotonic() - started < seconds:
            rss.append(ps.memory_info().rss)
            time.sleep(1)
        cpu1 = ps.cpu_times()
        elapsed = time.monotonic() - started
        cpu = (cpu1.user - cpu0.user) + (cpu1.system - cpu0.system)
        return {"name": name, "rss_max_mb": max(rss) / 2**20, "rss_last_mb": rss[-1] / 2**20,
                "cpu_s": cpu, "cpu_pct": 100 * cpu / elapsed, "seconds": elapsed}
    finally:
        proc.stop(timeout=10)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="stoker-idle-") as tmp:
        work = Path(tmp)
        admin = secrets.token_urlsafe(16)
        server, base = start_server(work / "server", admin, work / "server.log")
        try:
            session = requests.Session()
            session.headers["X-Auth-Token"] = admin
            registered = session.post(f"{base}/v1/bench/servers", json={"name": "idle"}, timeout=10).json()
            watch = registered["os-collect-config"]["watch"]
            root = work / "root"
            (root / "etc").mkdir(parents=True)
            conf = root / "etc" / "os-collect-config.conf"
            conf.write_text(f"[DEFAULT]\ncollectors = watch\ncommand = true\nsplay = 0\n"
                            f"cachedir = {work / 'occ-cache'}\nbackup_cachedir = {work / 'occ-backup'}\n"
                            f"[watch]\nmetadata_url = {watch['metadata_url']}\nauth_token = {watch['auth_token']}\n")
            conf.chmod(0o600)
            results = [
                measure("stoker-agent", stoker_argv("agent", "--root", str(root)), work, args.seconds,
                        lambda p: "started" in p.log()),
                measure("os-collect-config", [sys.executable, "-m", "collector.cli", "--config-file", str(conf)],
                        work, args.seconds, lambda p: "Executing" in p.log() or "No changes" in p.log()),
            ]
        finally:
            server.stop()
    print(f"{'process':<20} {'RSS max MB':>10} {'RSS end MB':>10} {'CPU s':>7} {'CPU %':>6}  over")
    for r in results:
        print(f"{r['name']:<20} {r['rss_max_mb']:>10.1f} {r['rss_last_mb']:>10.1f} {r['cpu_s']:>7.2f} "
              f"{r['cpu_pct']:>6.2f}  {r['seconds']:.0f}s")
    ok = all(r["rss_max_mb"] <= 30 and r["cpu_pct"] < 1 for r in results)
    print("goal (<= 30 MB RSS, < 1% CPU):", "met" if ok else "NOT met")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
