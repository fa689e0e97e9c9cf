"""Idle cost of the in-guest agent: RSS and CPU of `stoker agent` and of stoker's os-collect-config.

Starts `stoker server` (SQLite) on loopback, registers a server, then runs each agent against it with
the default settings (watch collector, long poll, polling_interval 30) and no deployments, and
samples the process with psutil once a second for --seconds (default 60) after its first poll.
Measured processes:

  stoker-agent          `stoker agent` (the daemon: collect, deploy, signal)
  stoker-occ            `python -m collector.cli`, stoker's drop-in `os-collect-config`
  upstream-occ          with --upstream: the real os-collect-config from PyPI (installed once into a
                        venv under the temp dir, as the side-by-side tests do), `request` collector
  stoker-agent-heat     with --heat: `stoker agent` polling with the `heat` collector (keystone v3
                        password auth against stoker's /v3, then Heat's resource metadata API), for
                        a POLL_SERVER_HEAT server of a stack, as os-collect-config.conf says
  stoker-agent-metrics  with --metrics: `stoker agent --metrics` sampling and sending every 10 s
                        (six times the default rate: psutil loaded, the metrics thread running)
  stoker-agent-after    with --after-deployment: `stoker agent` for another server (a new one each
                        run) that has one `script` deployment, measured once it has run and
                        signalled it (a configured guest's steady state: hook and signal code loaded)

With --runs N every process is measured N times and the median of each figure is printed.

    .venv/bin/python bench/agent_idle.py [--seconds 60] [--runs 1] [--upstream] [--after-deployment] [--heat]
        [--metrics]

Goal (issue 3): stoker's processes at most 30 MB RSS and under 1% CPU while idle.
"""
from __future__ import annotations

import argparse
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path

import psutil
import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from cli.processes import Process, child_env, start_server, stoker_argv  # noqa: E402

GOAL_MB, GOAL_CPU_PCT = 30.0, 1.0


def measure(name: str, argv: list[str], ready, workdir: Path, seconds: float) -> dict:
    proc = Process(name, argv, workdir / f"{name}.log", child_env())
    try:
        deadline = time.monotonic() + 60
        while not ready(proc) and time.monotonic() < deadline:
            if proc.proc.poll() is not None:
                raise SystemExit(f"{name} exited: see {proc.log_path}\n{proc.log()[-2000:]}")
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


def median(runs: list[dict]) -> dict:
    keys = ("rss_max_mb", "rss_last_mb", "cpu_s", "cpu_pct", "seconds")
    return {"name": runs[0]["name"], **{k: statistics.median(r[k] for r in runs) for k in keys}}


def upstream_occ() -> Path:
    """The os-collect-config command from PyPI, in the venv the side-by-side tests share."""
    from tests.upstream import Unavailable, tool_venv
    try:
        exe = tool_venv(["os-collect-config"]) / "bin" / "os-collect-config"
    except Unavailable as exc:
        raise SystemExit(f"--upstream: {exc}")
    return exe


def watch_conf(root: Path, watch: dict, extra: str = "") -> Path:
    """os-collect-config.conf for the watch collector with default intervals (no splay, so the
    first poll is at once); the credential makes it mode 0600."""
    conf = root / "etc" / "os-collect-config.conf"
    conf.parent.mkdir(parents=True)
    conf.write_text(f"[DEFAULT]\ncollectors = watch\nsplay = 0\n{extra}[watch]\n"
                    f"metadata_url = {watch['metadata_url']}\nauth_token = {watch['auth_token']}\n")
    conf.chmod(0o600)
    return conf


def after_deployment(session: requests.Session, base: str, work: Path) -> tuple:
    """(argv, ready) of an agent for a new server with one `script` deployment; ready once the
    result is signalled."""
    registered = session.post(f"{base}/v1/bench/servers", json={"name": "deployed"}, timeout=10).json()
    config = session.post(f"{base}/v1/bench/software_configs", timeout=10,
                          json={"name": "c", "group": "script", "config": "#!/bin/sh\necho done\n"}).json()
    session.post(f"{base}/v1/bench/software_deployments", timeout=10, json={
        "config_id": config["software_config"]["id"], "server_id": registered["server"]["id"], "name": "d1"}
    ).raise_for_status()
    root = work / f"root-{registered['server']['id']}"
    watch_conf(root, registered["os-collect-config"]["watch"])
    done = root / "var/lib/heat-config/deployed"
    return stoker_argv("agent", "--root", str(root)), lambda p: done.is_dir() and any(done.glob("*.notify.json"))


HEAT_TEMPLATE = {
    "heat_template_version": "2018-08-31",
    "resources": {"vm": {"type": "OS::Heat::DeployedServer",
                         "properties": {"software_config_transport": "POLL_SERVER_HEAT"}}},
    "outputs": {"occ": {"value": {"get_attr": ["vm", "os_collect_config"]}}},
}


def heat_agent(session: requests.Session, base: str, work: Path) -> tuple:
    """(argv, ready) of an agent polling with the `heat` collector for a POLL_SERVER_HEAT server;
    ready once its first poll stored the heat metadata."""
    name = f"idleheat-{secrets.token_hex(4)}"
    url = session.post(f"{base}/v1/bench/stacks", json={"stack_name": name, "template": HEAT_TEMPLATE},
                       timeout=10).headers["Location"]
    deadline = time.monotonic() + 60
    while True:
        outputs = session.get(url, timeout=10).json()["stack"].get("outputs") or []
        occ = next((o["output_value"] for o in outputs if o["output_key"] == "occ" and o["output_value"]), None)
        if occ or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    if not occ:
        raise SystemExit("--heat: the stack gave no os_collect_config output within 60 s")
    root = work / f"root-heat-{secrets.token_hex(4)}"
    conf = root / "etc" / "os-collect-config.conf"
    conf.parent.mkdir(parents=True)
    keys = ("auth_url", "user_id", "password", "project_id", "stack_id", "resource_name")
    conf.write_text("[DEFAULT]\ncollectors = heat\nsplay = 0\n[heat]\n"
                    + "".join(f"{k} = {occ['heat'][k]}\n" for k in keys))
    conf.chmod(0o600)
    cache = root / "var/lib/os-collect-config/heat.json"
    return stoker_argv("agent", "--root", str(root)), lambda p: cache.exists()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--runs", type=int, default=1, help="measure each process this many times; print medians")
    parser.add_argument("--upstream", action="store_true", help="also measure upstream os-collect-config")
    parser.add_argument("--after-deployment", action="store_true",
                        help="also measure an agent that has run and signalled one deployment")
    parser.add_argument("--heat", action="store_true",
                        help="also measure an agent polling with the heat collector (keystone auth)")
    parser.add_argument("--metrics", action="store_true",
                        help="also measure an agent with metrics on (a sample sent every 10 s)")
    args = parser.parse_args()
    upstream = upstream_occ() if args.upstream else None
    with tempfile.TemporaryDirectory(prefix="stoker-idle-") as tmp:
        work = Path(tmp)
        admin = secrets.token_urlsafe(16)
        server, base = start_server(work / "server", admin, work / "server.log")
        try:
            session = requests.Session()
            session.headers["X-Auth-Token"] = admin
            registered = session.post(f"{base}/v1/bench/servers", json={"name": "idle"}, timeout=10).json()
            occ = registered["os-collect-config"]
            root = work / "root"
            conf = watch_conf(root, occ["watch"], f"command = true\ncachedir = {work / 'occ-cache'}\n"
                                                  f"backup_cachedir = {work / 'occ-backup'}\n")
            # name -> a function giving (argv, ready) for one run
            plans = [
                ("stoker-agent", lambda: (stoker_argv("agent", "--root", str(root)), lambda p: "started" in p.log())),
                ("stoker-occ", lambda: ([sys.executable, "-m", "collector.cli", "--config-file", str(conf)],
                                        lambda p: "Executing" in p.log() or "No changes" in p.log())),
            ]
            if args.metrics:
                plans.append(("stoker-agent-metrics", lambda: (
                    stoker_argv("agent", "--root", str(root), "--metrics", "--metrics-interval", "10",
                                "--metrics-batch", "10"), lambda p: "metrics: a sample every" in p.log())))
            if args.after_deployment:
                plans.append(("stoker-agent-after", lambda: after_deployment(session, base, work)))
            if args.heat:
                plans.append(("stoker-agent-heat", lambda: heat_agent(session, base, work)))
            if upstream:
                up_conf = work / "upstream-occ.conf"
                up_cache = work / "upstream-cache"
                up_conf.write_text(f"[DEFAULT]\ncollectors = request\ncommand = true\nsplay = 0\n"
                                   f"polling_interval = 30\ncachedir = {up_cache}\n"
                                   f"backup_cachedir = {work / 'upstream-backup'}\n"
                                   f"[request]\nmetadata_url = {occ['request']['metadata_url']}\n")
                plans.append(("upstream-occ", lambda: ([str(upstream), "--config-file", str(up_conf)],
                                                       lambda p: (up_cache / "request.json").exists())))
            results = [median([measure(name, *make(), work, args.seconds) for _ in range(max(1, args.runs))])
                       for name, make in plans]
        finally:
            server.stop()
    label = "median of " + str(args.runs) + " runs" if args.runs > 1 else "one run"
    print(f"{'process':<20} {'RSS max MB':>10} {'RSS end MB':>10} {'CPU s':>7} {'CPU %':>6}  over ({label})")
    for r in results:
        print(f"{r['name']:<20} {r['rss_max_mb']:>10.1f} {r['rss_last_mb']:>10.1f} {r['cpu_s']:>7.2f} "
              f"{r['cpu_pct']:>6.2f}  {r['seconds']:.0f}s")
    ours = [r for r in results if r["name"].startswith("stoker")]
    ok = all(r["rss_max_mb"] <= GOAL_MB and r["cpu_pct"] < GOAL_CPU_PCT for r in ours)
    print(f"goal for stoker's processes (<= {GOAL_MB:g} MB RSS, < {GOAL_CPU_PCT:g}% CPU):", "met" if ok else "NOT met")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
