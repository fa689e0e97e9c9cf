"""Metrics ingest and alarm evaluation: what a batch costs, and what one evaluation costs.

In-process on SQLite in a temporary directory (the server's default database):
  - ingest: a batch of 6 samples (8 metrics each) POSTed through the app's route with a
    server's token (auth, parse, one INSERT), median per POST;
  - evaluate: one alarm of a stack whose tree holds N servers, each with an hour of batches
    (one every 30 s), period 60 s and 3 evaluation periods: the stack tree read, the query
    matched, the window read and the state decided (no action), median per evaluation;
  - tick: `--alarms` alarms due at once, each over 10 servers, one tick of the evaluator.

    .venv/bin/python bench/alarms.py [--servers 10 100] [--alarms 50] [--rounds 5]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from sqlalchemy import insert  # noqa: E402

from metadata_server.api.metrics_ingest import configure  # noqa: E402
from metadata_server.app import create_app  # noqa: E402
from metadata_server.service.metric_samples import IngestLimits  # noqa: E402
from metadata_server.service.alarm_evaluator import AlarmEvaluator, EvaluatorOptions  # noqa: E402
from metadata_server.service.credentials import token_hash  # noqa: E402
from metadata_server.store import open_store  # noqa: E402
from metadata_server.store.alarms import AlarmStore  # noqa: E402
from metadata_server.store.metric_window import MetricWindow  # noqa: E402
from metadata_server.store.stack_tables import stack, stack_resource  # noqa: E402

METRICS = ("cpu_util", "memory_util", "memory.usage", "load1", "load5", "load15", "disk_util",
           "queue_depth")


def clock() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def samples(start: float, count: int, step: float = 5.0) -> list:
    return [(start + i * step, {m: 50.0 + i for m in METRICS}) for i in range(count)]


def stack_with_servers(store, count: int) -> tuple[str, list[str]]:
    stack_id, now = str(uuid.uuid4()), clock()
    ids = [str(uuid.uuid4()) for _ in range(count)]
    with store.engine.begin() as conn:
        conn.execute(insert(stack).values(id=stack_id, tenant="bench", name=stack_id,
                                          definition={}, action="CREATE", status="COMPLETE",
                                          created_at=now))
        conn.execute(insert(stack_resource), [
            {"id": str(uuid.uuid4()), "stack_id": stack_id, "name": f"vm{i}",
             "type": "OS::Nova::Server", "physical_id": server, "action": "CREATE",
             "status": "COMPLETE", "created_at": now,
             "properties": {"metadata": {"metering.stack": stack_id}}}
            for i, server in enumerate(ids)])
    return stack_id, ids


def an_hour_of_batches(window: MetricWindow, servers: list[str], now: float) -> None:
    for server in servers:
        for start in range(int(now) - 3600, int(now), 30):
            window.add_batch(server, "bench", float(start), samples(float(start), 6))


def alarm_row(stack_id: str, now: float) -> dict:
    return {"id": str(uuid.uuid4()), "tenant": "bench", "stack_id": stack_id,
            "resource_name": "high", "resource_type": "OS::Aodh::Alarm", "next_at": now,
            "created_at": now, "enabled": True, "body": {
                "type": "threshold", "repeat_actions": False, "threshold_rule": {
                    "meter_name": "cpu_util", "period": 60, "evaluation_periods": 3,
                    "statistic": "avg", "threshold": 90, "comparison_operator": "gt",
                    "query": [{"field": "metadata.user_metadata.stack", "op": "eq",
                               "value": stack_id}]}}}


def bench_ingest(store, rounds: int) -> float:
    app = create_app(store, token_hash("admin"))
    client = app.test_client()
    answer = client.post("/v1/bench/servers", json={"name": "vm"},
                         headers={"X-Auth-Token": "admin"}).get_json()
    token, server = answer["credential"]["token"], answer["server"]["id"]
    # one server sends them all: no rate limit, so the route's own work is what is timed
    configure(app, IngestLimits(min_interval=0))
    times = []
    for _ in range(rounds * 40):
        body = {"samples": [{"time": t, "metrics": m} for t, m in samples(time.time() - 30, 6)]}
        start = time.perf_counter()
        answer = client.post(f"/v1/bench/servers/{server}/metrics", json=body,
                             headers={"X-Auth-Token": token})
        times.append(time.perf_counter() - start)
        assert answer.status_code == 202, answer.get_json()
    return statistics.median(times)


def bench_evaluate(store, servers: int, rounds: int) -> float:
    now = time.time()
    stack_id, ids = stack_with_servers(store, servers)
    an_hour_of_batches(MetricWindow(store.engine), ids, now)
    alarms = AlarmStore(store.engine)
    row = alarm_row(stack_id, now)
    alarms.put(row)
    judge = AlarmEvaluator(store.engine, clock, lambda url, payload: None)
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        judge.evaluate(alarms.get(row["id"]), time.time())
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def bench_tick(store, count: int, rounds: int) -> float:
    now = time.time()
    stack_id, ids = stack_with_servers(store, 10)
    an_hour_of_batches(MetricWindow(store.engine), ids, now)
    alarms = AlarmStore(store.engine)
    judge = AlarmEvaluator(store.engine, clock, lambda url, payload: None,
                           EvaluatorOptions(max_per_tick=count))
    times = []
    for _ in range(rounds):
        for _ in range(count):
            alarms.put(alarm_row(stack_id, time.time() - 1))
        start = time.perf_counter()
        done = judge.tick()
        times.append(time.perf_counter() - start)
        assert done == count, done
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--servers", type=int, nargs="+", default=[10, 100])
    parser.add_argument("--alarms", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(f"sqlite:///{tmp}/stoker.db")
        print(f"ingest: one batch of 6 samples x {len(METRICS)} metrics through the route: "
              f"median {bench_ingest(store, args.rounds) * 1000:.2f} ms")
        for servers in args.servers:
            seconds = bench_evaluate(store, servers, args.rounds)
            print(f"evaluate: one alarm over {servers} servers (1 h of batches each, "
                  f"4 min window): median {seconds * 1000:.1f} ms")
        seconds = bench_tick(store, args.alarms, args.rounds)
        print(f"tick: {args.alarms} alarms due, 10 servers each: median {seconds * 1000:.0f} ms "
              f"({seconds / args.alarms * 1000:.1f} ms per alarm)")
        store.engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
