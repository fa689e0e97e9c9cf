"""Creating a group whose members are one large provider template: parse cache on and off.

Runs the engine in-process on SQLite in a temporary directory with the in-memory cloud driver,
and creates a stack holding an OS::Heat::ResourceGroup of --members members of a provider
template of about --kb KB of YAML (one OS::Heat::None whose properties hold many small maps, the
shape that costs YAML the most per byte). Timed from the create call (which counts the tree)
to CREATE_COMPLETE, in rounds alternating between the engine's parse cache (emptied before each
round, so each round parses once) and no cache (every member parses the text, when counted and
when created). Prints the median of each and their ratio.

    .venv/bin/python bench/tree_parse.py [--members 20] [--kb 256] [--rounds 3]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.engine import timed_create  # noqa: E402
from metadata_server.engine.drivers import FakeDriver  # noqa: E402
from metadata_server.engine.parse_cache import ParseCache  # noqa: E402
from metadata_server.engine.stack import Engine  # noqa: E402
from metadata_server.store import open_store  # noqa: E402


def provider(kb: int) -> str:
    lines = ["heat_template_version: 2018-08-31", "resources:", "  a:",
             "    type: OS::Heat::None", "    properties:", "      data:"]
    i = 0
    while sum(len(line) + 1 for line in lines) < kb * 1024:
        lines.append(f"        k{i}: [value{i}, {{x: {i}}}]")
        i += 1
    return "\n".join(lines) + "\n"


def timed_group_create(engine: Engine, name: str, members: int, files: dict) -> float:
    template = {"heat_template_version": "2018-08-31", "resources": {"g": {
        "type": "OS::Heat::ResourceGroup",
        "properties": {"count": members, "resource_def": {"type": "member.yaml"}}}}}
    return timed_create(engine, name, template, files, within=1800)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=20)
    parser.add_argument("--kb", type=int, default=256)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    files = {"member.yaml": provider(args.kb)}
    times: dict[str, list[float]] = {"cache": [], "no cache": []}
    with tempfile.TemporaryDirectory() as state:
        store = open_store(f"sqlite:///{state}/stoker.db")
        engine = Engine(store, driver=FakeDriver())
        try:
            for r in range(args.rounds):
                for kind in times:
                    engine.parse_cache = (ParseCache.for_limits(engine.limits)
                                          if kind == "cache" else ParseCache(max_chars=0))
                    times[kind].append(timed_group_create(engine, f"{kind[:2]}{r}", args.members,
                                                    files))
        finally:
            engine.close()
    medians = {kind: statistics.median(values) for kind, values in times.items()}
    for kind, values in times.items():
        print(f"group of {args.members} x {args.kb} KB provider template, {kind}: median "
              f"{medians[kind]:.2f} s (min {min(values):.2f}, max {max(values):.2f})")
    print(f"no cache / cache: {medians['no cache'] / medians['cache']:.1f}x")


if __name__ == "__main__":
    main()
