"""How soon another node takes over a stack whose node was killed with `kill -9` mid-create.

Starts three `stoker server` nodes on one PostgreSQL database behind HAProxy on loopback (the
multi-node test's cluster, tests/multinode/cluster.py). Each round creates, through one node, a
stack of a chain of OS::Heat::TestResources that wait `--wait` seconds each, kills that node with
SIGKILL while the first one waits, and measures (polling the stack through the balancer every
20 ms) the seconds from the kill until another node has taken the operation over (the stack's
reason says it resumed) and until CREATE_COMPLETE. The killed node is started again between
rounds. Reports each round and the medians.

    STOKER_TEST_POSTGRES_URL=postgresql://... .venv/bin/python bench/takeover.py [--rounds 5]
        [--wait 1.0] [--resources 3]
"""
from __future__ import annotations

import argparse
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.conftest import POSTGRES_URL  # noqa: E402
from tests.databases import fresh_postgres_database  # noqa: E402
from tests.multinode.cluster import Cluster, haproxy_binary  # noqa: E402

RESUMED = "Stack CREATE resumed after an engine restart"


def template(resources: int, wait: float) -> dict:
    chain = {}
    for index in range(resources):
        chain[f"r{index}"] = {"type": "OS::Heat::TestResource",
                              "properties": {"value": str(index), "wait_secs": wait}}
        if index:
            chain[f"r{index}"]["depends_on"] = f"r{index - 1}"
    return {"heat_template_version": "2018-08-31", "resources": chain}


def fresh_database(base_url: str) -> str:
    from metadata_server.store import open_store
    url = fresh_postgres_database(base_url, suffix="_takeover")
    open_store(url).engine.dispose()
    return url


def one_round(cluster: Cluster, victim: int, args) -> tuple[float, float]:
    tenant = f"bench-{secrets.token_hex(4)}"
    name = f"s{secrets.token_hex(3)}"
    created = cluster.session.post(f"{cluster.urls[victim]}/v1/{tenant}/stacks", json={
        "stack_name": name, "template": template(args.resources, args.wait)}, timeout=30)
    created.raise_for_status()
    url = f"{cluster.public_url}/v1/{tenant}/stacks/{name}/{created.json()['stack']['id']}"
    # kill once the first resource is waiting: its create began on the victim
    while not any(r["resource_status"] == "CREATE_IN_PROGRESS" for r in cluster.session.get(
            f"{url}/resources", timeout=10).json()["resources"]):
        time.sleep(0.02)
    cluster.kill(victim)
    killed = time.monotonic()
    taken = None
    while time.monotonic() - killed < 120:
        stack = cluster.session.get(url, timeout=10).json()["stack"]
        if taken is None and stack["stack_status_reason"] == RESUMED:
            taken = time.monotonic() - killed
        if stack["stack_status"] != "CREATE_IN_PROGRESS":
            if stack["stack_status"] != "CREATE_COMPLETE" or taken is None:
                raise SystemExit(f"round failed: {stack['stack_status']} "
                                 f"{stack['stack_status_reason']}")
            return taken, time.monotonic() - killed
        time.sleep(0.02)
    raise SystemExit("the stack was not complete 120 s after the kill")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--wait", type=float, default=1.0,
                        help="seconds each test resource waits (default %(default)s)")
    parser.add_argument("--resources", type=int, default=3)
    args = parser.parse_args()
    if not POSTGRES_URL:
        raise SystemExit("set STOKER_TEST_POSTGRES_URL to a PostgreSQL database to use")
    binary = haproxy_binary()
    if binary is None:
        raise SystemExit("needs haproxy (apt-get install haproxy)")
    with tempfile.TemporaryDirectory(prefix="stoker-takeover-") as work:
        cluster = Cluster(Path(work), fresh_database(POSTGRES_URL), binary)
        try:
            cluster.start()
            results = []
            for index in range(args.rounds):
                cluster.revive()
                taken, complete = one_round(cluster, index % len(cluster.nodes), args)
                results.append((taken, complete))
                print(f"round {index + 1}: taken over {taken:.2f} s after the kill, "
                      f"CREATE_COMPLETE {complete:.2f} s after it", flush=True)
        finally:
            cluster.stop()
    print(f"median over {args.rounds} rounds: taken over after "
          f"{statistics.median(r[0] for r in results):.2f} s, CREATE_COMPLETE after "
          f"{statistics.median(r[1] for r in results):.2f} s "
          f"({args.resources} resources of {args.wait:g} s each)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
