"""How long from a group's metric crossing its alarm's threshold to the new member deployed.

Starts `stoker server` (SQLite, the local driver) with the periods given, and for each run
creates examples/scaling/scaling.yaml (`stoker demo --scaling`'s stack: a group of 1 whose
members' metrics probe reports the load in a file), waits until it is complete, then writes a
load above the threshold and measures, polling the server every 50 ms, the seconds until

  grown      the group has a second member (the alarm fired, the policy resized the group), and
  deployed   that member's SoftwareDeployment is COMPLETE (its server booted as a local agent,
             which ran the deployment and signalled it).

The clock starts when the load file is written: the probes read it at their next sample, so the
figure includes up to one metrics interval of sampling. Each run's stack is deleted before the
next. Prints every run and the medians.

    .venv/bin/python bench/scaling.py [--runs 5] [--metrics-interval 1] [--evaluation-interval 1]
        [--period 3]
"""
from __future__ import annotations

import argparse
import secrets
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from cli.demo_scaling import HIGH, Periods, Scaling, start  # noqa: E402
from metadata_server.engine.drivers.local_servers import kill_all_under  # noqa: E402


def one_run(base: str, token: str, work: Path, periods: Periods, index: int) -> dict:
    work.mkdir()
    scenario = Scaling(base, token, work, periods, stack_name=f"scaling-{index}")
    try:
        scenario.create()
        [first] = scenario.wait_members(1)
        start_at = scenario.set_load(HIGH, note=False)
        grown = scenario.wait(lambda: (scenario.size() or 0) >= 2, 120, "a second member", 0.05)
        grown_at = time.monotonic()
        scenario.wait(lambda: [d for d in scenario.deployments()
                               if d["id"] != first["id"] and d["status"] == "COMPLETE"],
                      120, "the second member's deployment", 0.05)
        done_at = time.monotonic()
        assert grown
        return {"grown": grown_at - start_at, "deployed": done_at - start_at}
    finally:
        scenario.delete()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--metrics-interval", type=float, default=1.0)
    parser.add_argument("--evaluation-interval", type=float, default=1.0)
    parser.add_argument("--period", type=int, default=3)
    args = parser.parse_args()
    periods = Periods(metrics_interval=args.metrics_interval, evaluation_interval=args.evaluation_interval,
                      period=args.period)
    state = Path(tempfile.mkdtemp(prefix="stoker-bench-scaling-"))
    token = secrets.token_hex(16)
    server, base = start(state, periods, token)
    runs = []
    try:
        for index in range(args.runs):
            runs.append(one_run(base, token, state / f"run-{index}", periods, index))
            print(f"run {index + 1}: grown {runs[-1]['grown']:.2f}s, deployed {runs[-1]['deployed']:.2f}s",
                  flush=True)
    finally:
        server.stop()
        kill_all_under(state)
    print(f"metrics every {periods.metrics_interval:g}s, alarms evaluated every "
          f"{periods.evaluation_interval:g}s over {periods.period}s (median of {len(runs)} runs)")
    print(f"threshold crossed -> group grown          {statistics.median(r['grown'] for r in runs):6.2f}s")
    print(f"threshold crossed -> new member deployed  {statistics.median(r['deployed'] for r in runs):6.2f}s")
    shutil.rmtree(state, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
