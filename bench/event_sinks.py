"""What recording events costs the engine with the event outbox: StackStore.apply of batches of
events for a stack without sinks, as the engine writes them (it hands over the sinks it kept at
bind time: no extra query) and as a writer that does not know the stack does (one SELECT of the
stack row per batch), and for a stack with one webhook sink (plus a count and an outbox insert),
against a plain insert of the events (the write as it was before the outbox). Alternates the
cases per round; medians of each batch's time and the ratios to the plain insert.

    .venv/bin/python bench/event_sinks.py [--batches 200] [--events 10] [--rounds 5] [--db URL]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from sqlalchemy import insert  # noqa: E402

from metadata_server.store import event_outbox, open_store  # noqa: E402
from metadata_server.store.event_sinks_spec import event_source  # noqa: E402
from metadata_server.store.stack_records import StackRecord  # noqa: E402
from metadata_server.store.stack_tables import stack_event  # noqa: E402
from metadata_server.store.stacks import StackStore  # noqa: E402

TEMPLATE = {"heat_template_version": "2018-08-31",
            "resources": {f"r{i}": {"type": "OS::Heat::RandomString"} for i in range(50)}}


def _stack(stacks: StackStore, name: str, sinks: list) -> str:
    stack_id = str(uuid.uuid4())
    stacks.insert_stack(StackRecord.creating(
        stack_id, "bench", name, {"template": TEMPLATE, "environment": {"event_sinks": sinks}},
        datetime.utcnow(), None))
    return stack_id


def _events(stack_id: str, count: int) -> list[dict]:
    now = datetime.utcnow()
    return [{"id": str(uuid.uuid4()), "stack_id": stack_id, "resource_name": f"r{i}",
             "physical_resource_id": "", "resource_type": "OS::Heat::RandomString",
             "action": "CREATE", "status": "COMPLETE", "status_reason": "state changed",
             "created_at": now} for i in range(count)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=200)
    parser.add_argument("--events", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--db", help="database URL (default: SQLite in a temp dir)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(args.db or f"sqlite:///{tmp}/bench.db")
        stacks = StackStore(store.engine)
        event_outbox.SETTINGS.max_pending_per_tenant = 10 ** 9
        plain_id = _stack(stacks, "plain", [])
        quiet_id = _stack(stacks, "quiet", [])
        sink = {"type": "webhook", "target": "http://127.0.0.1:9/hook"}
        hooked_id = _stack(stacks, "hooked", [sink])
        known = {quiet_id: event_source("bench", "quiet", []),
                 hooked_id: event_source("bench", "hooked", [sink])}

        def plain():
            with store.engine.begin() as conn:   # the write before the outbox
                conn.execute(insert(stack_event), _events(plain_id, args.events))

        def apply(stack_id, sources=None):
            return lambda: stacks.apply([], [], [], _events(stack_id, args.events),
                                        sources=sources)

        cases = {"plain insert (before)": plain,
                 "engine, no sinks": apply(quiet_id, known),
                 "unknown stack, no sinks": apply(quiet_id),
                 "engine, one webhook sink": apply(hooked_id, known)}
        times: dict[str, list[float]] = {name: [] for name in cases}
        for _ in range(args.rounds):
            for name, case in cases.items():
                for _ in range(args.batches):
                    started = time.perf_counter()
                    case()
                    times[name].append(time.perf_counter() - started)
        base = statistics.median(times["plain insert (before)"])
        print(f"{args.batches} batches x {args.rounds} rounds of {args.events} events, "
              f"{store.engine.dialect.name}")
        for name, values in times.items():
            median = statistics.median(values)
            print(f"  {name:26s} median {median * 1000:7.3f} ms/batch  x{median / base:.2f}")
        store.engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
