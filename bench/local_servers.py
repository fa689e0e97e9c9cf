"""What the local driver's servers cost and how fast nodes take them on (issue 13 item 4).

Creates `--servers` SOFTWARE_CONFIG-style servers through a LocalDriver in a temp directory;
each is a real keeper running a real `stoker agent` whose metadata URL is a closed loopback
port (an idle agent retrying). Measures, per round:

- create: from driver.create() to the agent's process running (keeper.json names it);
- memory: resident and unique (psutil memory_full_info) of each keeper and each agent,
  after the agents have settled;
- adopt: a second driver (a restarted node) on the directory, from its construction to its
  first sweep done, every agent adopted as it runs;
- orphan: with every driver closed and the lease left alone, from the last lease write to
  the last keeper gone (grace `--grace`).

    .venv/bin/python bench/local_servers.py [--servers 10] [--rounds 3] [--grace 2]
"""
from __future__ import annotations

import argparse
import json
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from metadata_server.engine.drivers import LocalDriver  # noqa: E402
from metadata_server.engine.drivers.local_servers import keeper_alive  # noqa: E402


def closed_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}/v1/t/servers/x/metadata"


def agent_of(root: Path) -> int | None:
    try:
        return json.loads((root / "keeper.json").read_text())["agent_pid"]
    except (OSError, ValueError, KeyError):
        return None


def wait(condition, timeout: float = 120.0) -> None:
    end = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > end:
            raise SystemExit("timed out")
        time.sleep(0.01)


def one_round(servers: int, grace: float) -> dict:
    with tempfile.TemporaryDirectory(prefix="stoker-bench-local-") as tmp:
        cloud = Path(tmp) / "cloud"
        node = LocalDriver(cloud, grace=grace, max_servers=servers)
        watch = {"os_collect_config": {"watch": {"metadata_url": closed_url(),
                                                 "auth_token": "bench"}}}
        creates = []
        for index in range(servers):
            start = time.monotonic()
            node.create("server", f"vm{index}", watch, physical_id=f"vm-{index}")
            wait(lambda: agent_of(cloud / "servers" / f"vm-{index}"))
            creates.append(time.monotonic() - start)
        roots = [cloud / "servers" / f"vm-{i}" for i in range(servers)]
        time.sleep(3)   # the agents import and make their first poll
        memory = {"keeper": [], "agent": []}
        for root in roots:
            record = json.loads((root / "keeper.json").read_text())
            for name, key in (("keeper", "pid"), ("agent", "agent_pid")):
                info = psutil.Process(record[key]).memory_full_info()
                memory[name].append((info.rss / 2**20, info.uss / 2**20))
        agents = [agent_of(r) for r in roots]
        start = time.monotonic()
        adopter = LocalDriver(cloud, grace=grace)
        adopt = time.monotonic() - start
        assert [agent_of(r) for r in roots] == agents, "an agent was started again"
        node.close()
        adopter.close()
        last_write = (cloud / "nodes.lease").stat().st_mtime
        wait(lambda: not any(keeper_alive(r) for r in roots), grace + 60)
        orphan = time.time() - last_write
        return {"create": statistics.median(creates), "adopt": adopt, "orphan": orphan,
                "keeper_rss": statistics.median(m[0] for m in memory["keeper"]),
                "keeper_uss": statistics.median(m[1] for m in memory["keeper"]),
                "agent_rss": statistics.median(m[0] for m in memory["agent"]),
                "agent_uss": statistics.median(m[1] for m in memory["agent"])}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--servers", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--grace", type=float, default=2.0)
    args = parser.parse_args()
    rounds = [one_round(args.servers, args.grace) for _ in range(args.rounds)]
    for index, found in enumerate(rounds, 1):
        print(f"round {index}: " + ", ".join(f"{k} {v:.2f}" for k, v in found.items()))
    print(f"medians over {args.rounds} rounds of {args.servers} servers (grace {args.grace:g} s):")
    print(f"  create -> agent running  {statistics.median(r['create'] for r in rounds):.3f} s")
    print(f"  adopt all (node start)   {statistics.median(r['adopt'] for r in rounds):.3f} s")
    print(f"  last lease -> all ended  {statistics.median(r['orphan'] for r in rounds):.2f} s")
    for name in ("keeper", "agent"):
        print(f"  {name:6} RSS {statistics.median(r[name + '_rss'] for r in rounds):.1f} MiB, "
              f"own (USS) {statistics.median(r[name + '_uss'] for r in rounds):.1f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
