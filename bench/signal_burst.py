"""How fast a burst of scaling-policy signals is answered, and how many threads it costs.

One engine on a temporary SQLite database, `--groups` scaling groups whose members take
`--wait` seconds to create, one policy each. A first signal per group starts a resize (it
holds the group); then `--signals` more signals are sent round-robin to the policies, each
timed from the call to its answer (what the HTTP sender waits for). Reports the median and
95th percentile answer, how many signals each group's events record as refused by the queue's
bound, and the most signal-pool threads alive at once.

    .venv/bin/python bench/signal_burst.py [--signals 500] [--groups 4] [--wait 2]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def template(groups: int, wait: float) -> dict:
    resources = {}
    for index in range(groups):
        resources[f"asg{index}"] = {"type": "OS::Heat::AutoScalingGroup", "properties": {
            "min_size": 0, "max_size": 100, "cooldown": 0, "resource": {
                "type": "OS::Heat::TestResource",
                "properties": {"value": "m", "wait_secs": wait}}}}
        resources[f"up{index}"] = {"type": "OS::Heat::ScalingPolicy", "properties": {
            "auto_scaling_group_id": {"get_resource": f"asg{index}"},
            "adjustment_type": "change_in_capacity", "scaling_adjustment": 1}}
    return {"heat_template_version": "2018-08-31", "resources": resources}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--signals", type=int, default=500)
    parser.add_argument("--groups", type=int, default=4)
    parser.add_argument("--wait", type=float, default=2.0)
    args = parser.parse_args()

    from metadata_server.engine.drivers import FakeDriver
    from metadata_server.engine.stack import Engine
    from metadata_server.store import open_store

    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(f"sqlite:///{tmp}/bench.db")
        engine = Engine(store, driver=FakeDriver(), poll_interval=0.05)
        try:
            stack = engine.create_stack("bench", {"stack_name": "burst",
                                                  "template": template(args.groups, args.wait)})
            engine.wait(stack["id"], 60)
            for index in range(args.groups):  # each group starts a resize that holds it
                engine.signal_resource("bench", stack["id"], f"up{index}", {})
            answers = []
            for number in range(args.signals):
                began = time.perf_counter()
                engine.signal_resource("bench", stack["id"], f"up{number % args.groups}",
                                       {"previous": "ok", "current": "alarm", "reason": "b"})
                answers.append(time.perf_counter() - began)
            refused = sum(
                1 for index in range(args.groups)
                for event in engine.events(stack, f"asg{index}")
                if "earlier signals are still waiting" in event["status_reason"])
            answers.sort()
            print(f"{args.signals} signals to {args.groups} groups (members take "
                  f"{args.wait:g} s): answer median {statistics.median(answers) * 1000:.1f} ms, "
                  f"p95 {answers[int(len(answers) * 0.95)] * 1000:.1f} ms; "
                  f"{refused} refused by the per-group bound; "
                  f"signal threads at most {engine.signals.peak_workers}")
        finally:
            engine.close()
            store.engine.dispose()


if __name__ == "__main__":
    main()
