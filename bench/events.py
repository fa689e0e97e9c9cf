"""Listing the events of a stack with 100,000 events through the HTTP API: paged in SQL (today)
against the old way (load every event of the stack, then filter and page in Python).

Starts the embedded `stoker server` (one process; SQLite in a temp dir, or --db) with one extra
switch, made here and nowhere else: a request with `X-Bench-Way: old` is answered by a copy of the
old event listing, so both ways run in the same process on the same database. Creates a stack
through the API, bulk-inserts the events straight into the store (after the stack's operation
ended, so nothing purges them), checks that both ways answer the same bodies, then alternates
timed requests of each case, old then new, and reports medians and the ratio.

    .venv/bin/python bench/events.py [--events 100000] [--rounds 7] [--db postgresql://...]
"""
from __future__ import annotations

import argparse
import secrets
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from cli.processes import Process, child_env  # noqa: E402

PAGE = 50
RESOURCES = 200
OUTCOMES = [("CREATE", "IN_PROGRESS"), ("CREATE", "COMPLETE"), ("UPDATE", "IN_PROGRESS"),
            ("UPDATE", "COMPLETE"), ("CHECK", "FAILED")]


def old_events_response(eng, stack, resource):
    """The event listing as it was before event lists were paged in SQL (the baseline)."""
    from flask import jsonify, request
    from sqlalchemy import select

    from metadata_server.api.common import ctx
    from metadata_server.engine import views
    from metadata_server.service.errors import InvalidInput
    from metadata_server.store.stack_tables import stack_event

    stmt = select(stack_event).where(stack_event.c.stack_id == stack["id"])
    if resource is not None:
        stmt = stmt.where(stack_event.c.resource_name == resource)
    rows = eng.stacks._all(stmt.order_by(stack_event.c.seq))
    for key, field in (("resource_action", "action"), ("resource_status", "status"),
                       ("resource_name", "resource_name"), ("resource_type", "resource_type")):
        wanted = request.args.getlist(key)
        if wanted:
            rows = [r for r in rows if r[field] in wanted]
    marker = request.args.get("marker")
    if marker:
        ids = [r["id"] for r in rows]
        rows = rows[ids.index(marker) + 1:] if marker in ids else rows
    if request.args.get("sort_dir") == "desc":
        rows = list(reversed(rows))
    limit = request.args.get("limit")
    if limit is not None:
        try:
            rows = rows[:max(0, int(limit))]
        except ValueError:
            raise InvalidInput(f"limit: must be a non-negative integer, got {limit!r}")
    return jsonify({"events": [views.format_event(ctx().base_url(), stack, r) for r in rows]})


def serve(argv: list[str]) -> int:
    """The server, with the old listing behind the X-Bench-Way header."""
    from flask import request

    from cli.main import main as stoker
    from metadata_server.api import event_list

    new = event_list.events_response

    def either(eng, stack, resource):
        way = old_events_response if request.headers.get("X-Bench-Way") == "old" else new
        return way(eng, stack, resource)
    event_list.events_response = either
    return stoker(["server", *argv])


def insert_events(db_url: str, stack_id: str, count: int) -> list[str]:
    """`count` events of RESOURCES resources in one transaction; their ids in insertion order."""
    from sqlalchemy import insert

    from metadata_server.store.database import create_db_engine
    from metadata_server.store.stack_tables import stack_event

    engine = create_db_engine(db_url)
    start, ids, rows = datetime(2026, 1, 1), [], []
    for n in range(count):
        action, status = OUTCOMES[n // RESOURCES % len(OUTCOMES)]
        event_id = str(uuid.uuid4())
        ids.append(event_id)
        rows.append({"id": event_id, "stack_id": stack_id, "resource_name": f"r{n % RESOURCES}",
                     "physical_resource_id": "", "resource_type": "OS::Heat::TestResource",
                     "action": action, "status": status, "status_reason": "state changed",
                     "created_at": start + timedelta(milliseconds=n)})
    with engine.begin() as conn:
        for at in range(0, count, 10_000):
            conn.execute(insert(stack_event), rows[at:at + 10_000])
    engine.dispose()
    return ids


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--db", help="database URL (default: SQLite in a temp dir); its stack "
                        "tables get one more stack")
    args = parser.parse_args()
    state = Path(tempfile.mkdtemp(prefix="stoker-events-bench-"))
    db_url = args.db or f"sqlite:///{state / 'stoker.db'}"
    admin = secrets.token_urlsafe(16)
    server = Process("server", [sys.executable, __file__, "serve", "--bind", "127.0.0.1:0",
                                "--state-dir", str(state), "--db", db_url, "--single-node",
                                "--log-level", "WARNING"],
                     state / "server.log", child_env(STOKER_ADMIN_TOKEN=admin))
    stack_id = None
    try:
        base = server.wait_for_line("listening on", 60).rsplit(" ", 1)[1]
        session = requests.Session()
        session.headers["X-Auth-Token"] = admin
        name = f"events-{uuid.uuid4().hex[:8]}"
        created = session.post(f"{base}/v1/bench/stacks", json={"stack_name": name, "template": {
            "heat_template_version": "2018-08-31",
            "resources": {"v": {"type": "OS::Heat::Value", "properties": {"value": 1}}}}})
        created.raise_for_status()
        stack_id = created.json()["stack"]["id"]
        stack = f"{base}/v1/bench/stacks/{name}/{stack_id}"
        deadline = time.monotonic() + 60
        while session.get(stack).json()["stack"]["stack_status"] != "CREATE_COMPLETE":
            if time.monotonic() > deadline:
                raise SystemExit("the stack was not created in 60 s")
            time.sleep(0.1)
        began = time.monotonic()
        ids = insert_events(db_url, stack_id, args.events)
        print(f"inserted {args.events} events in {time.monotonic() - began:.1f} s "
              f"({'SQLite' if db_url.startswith('sqlite') else 'PostgreSQL'})")
        cases = {
            f"first page (limit={PAGE})": f"events?limit={PAGE}",
            f"filtered page (resource_name=r42&resource_status=COMPLETE, limit={PAGE})":
                f"events?resource_name=r42&resource_status=COMPLETE&limit={PAGE}",
            f"deep page (marker = event 90%, limit={PAGE})":
                f"events?marker={ids[int(len(ids) * 0.9)]}&limit={PAGE}",
            f"one resource's events (resources/v/events, limit={PAGE})":
                f"resources/v/events?limit={PAGE}",
        }
        for label, path in cases.items():
            old = session.get(f"{stack}/{path}", headers={"X-Bench-Way": "old"})
            new = session.get(f"{stack}/{path}")
            assert old.status_code == new.status_code == 200, (old.text[:200], new.text[:200])
            assert old.json() == new.json(), f"{label}: the two ways answer differently"
            assert len(new.json()["events"]) > 0, label
        print(f"{'case':<74} {'old (ms)':>9} {'new (ms)':>9} {'old/new':>8}")
        for label, path in cases.items():
            times = {"old": [], "new": []}
            for _ in range(args.rounds):
                for way in ("old", "new"):
                    began = time.perf_counter()
                    session.get(f"{stack}/{path}", headers={"X-Bench-Way": way}).raise_for_status()
                    times[way].append(time.perf_counter() - began)
            old, new = (statistics.median(times[w]) * 1000 for w in ("old", "new"))
            print(f"{label:<74} {old:>9.1f} {new:>9.1f} {old / new:>8.1f}")
    finally:
        server.stop()
        if args.db and stack_id:  # a database that outlives the bench gets its stack back
            from metadata_server.store.database import create_db_engine
            from metadata_server.store.stacks import StackStore
            StackStore(create_db_engine(db_url)).purge_stack(stack_id)
        shutil.rmtree(state, ignore_errors=True)
    return 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["serve"]:
        sys.exit(serve(sys.argv[2:]))
    sys.exit(main())
