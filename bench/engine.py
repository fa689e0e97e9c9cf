"""Engine speed: a 1,000-resource stack, and 100 independent one-second resources.

Runs the engine in-process on SQLite in a temporary directory (the server's default database),
with the in-memory cloud driver. Two cases:
  - create a stack of 1,000 resources (OS::Heat::Value, each of the last 900 referencing one
    of the first 100 through get_attr, so the walk has real dependencies): goal < 3 s;
  - create a stack of 100 independent OS::Heat::TestResource with wait_secs: 1: goal about 1 s
    wall, which only a parallel walk can reach.
Each is timed from the create call to CREATE_COMPLETE, stored.

    .venv/bin/python bench/engine.py [--resources 1000] [--parallel 100] [--rounds 3]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from metadata_server.engine.drivers import FakeDriver  # noqa: E402
from metadata_server.engine.stack import Engine  # noqa: E402
from metadata_server.store import open_store  # noqa: E402


def big_template(count: int) -> dict:
    roots = max(1, count // 10)
    resources = {f"root{i}": {"type": "OS::Heat::Value", "properties": {"value": f"v{i}"}}
                 for i in range(roots)}
    for i in range(count - roots):
        resources[f"leaf{i}"] = {"type": "OS::Heat::Value", "properties": {
            "value": {"get_attr": [f"root{i % roots}", "value"]}}}
    return {"heat_template_version": "2018-08-31", "resources": resources}


def parallel_template(count: int) -> dict:
    return {"heat_template_version": "2018-08-31", "resources": {
        f"t{i}": {"type": "OS::Heat::TestResource", "properties": {"wait_secs": 1}}
        for i in range(count)}}


def timed_create(engine: Engine, name: str, template: dict, files: dict | None = None,
                 within: float = 300) -> float:
    """Seconds from the create call to CREATE_COMPLETE; exits naming the stack if it fails."""
    start = time.perf_counter()
    body = {"stack_name": name, "template": template, **({"files": files} if files else {})}
    stack = engine.create_stack("bench", body)
    row = engine.wait(stack["id"], within)
    elapsed = time.perf_counter() - start
    if row["status"] != "COMPLETE":
        raise SystemExit(f"{name}: {row['action']}_{row['status']}: {row['status_reason']}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--resources", type=int, default=1000)
    parser.add_argument("--parallel", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as state:
        store = open_store(f"sqlite:///{state}/stoker.db")
        engine = Engine(store, driver=FakeDriver())
        try:
            big = [timed_create(engine, f"big{r}", big_template(args.resources))
                   for r in range(args.rounds)]
            wide = [timed_create(engine, f"wide{r}", parallel_template(args.parallel))
                    for r in range(args.rounds)]
        finally:
            engine.close()
    print(f"create {args.resources}-resource stack: median {statistics.median(big):.2f} s "
          f"(min {min(big):.2f}, max {max(big):.2f}; goal < 3 s)")
    print(f"create {args.parallel} independent 1 s TestResources: median "
          f"{statistics.median(wide):.2f} s (min {min(wide):.2f}, max {max(wide):.2f}; "
          "goal about 1 s)")


if __name__ == "__main__":
    main()
