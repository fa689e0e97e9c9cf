"""`stoker agent status`: where every deployment stands, from the files on disk.

Reads the state files, the outbox and upstream's markers; never talks to the server, so it works
when the network does not (which is when it is needed).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import datetime, timezone
from typing import TextIO

from agent.outbox import Outbox
from agent.paths import Paths, root_from
from agent.state import FINISHED, SIGNALLED, DeploymentState, StateStore

HEADERS = ("DEPLOYMENT", "NAME", "ACTION", "STATE", "EXIT", "DURATION", "LAST SIGNAL")


def register(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = sub.add_parser("status", help="where every deployment stands",
                            description="Table of deployments: state (received, running, finished, signalled), "
                            "exit code, duration and the last signal; pending signals are listed with their "
                            "last error.")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.set_defaults(func=main)
    return parser


def main(args: argparse.Namespace) -> int:
    paths = Paths.under(root_from(getattr(args, "root", None)))
    rows = rows_for(paths)
    if args.json:
        json.dump(rows, sys.stdout, indent=1)
        sys.stdout.write("\n")
    else:
        print_table(rows, sys.stdout)
    return 0


def rows_for(paths: Paths, now: float | None = None) -> list[dict]:
    now = time.time() if now is None else now
    listed = _listed_ids(paths)
    outbox = {e["item"].get("id"): e for e in Outbox(paths.outbox_dir, choose=lambda item: None).entries()}
    rows = []
    seen = set()
    for state in StateStore(paths.deployments_state_dir).all():
        seen.add(state.id)
        rows.append(_row(state, outbox.get(state.id), listed, now))
    # deployed by upstream's heat-config (or marked by heat-config-rebuild-deployed): no state file
    try:
        markers = sorted(n[:-5] for n in os.listdir(paths.deployed_dir)
                         if n.endswith(".json") and not n.endswith(".notify.json"))
    except FileNotFoundError:
        markers = []
    for ident in markers:
        if ident not in seen:
            rows.append({"id": ident, "name": "", "action": "", "state": "deployed (marker only)",
                         "exit": "", "duration": "", "last_signal": "unknown", "listed": ident in listed})
    return rows


def _row(state: DeploymentState, entry: dict | None, listed: set[str] | None, now: float) -> dict:
    label = state.state
    if state.state == "running" and state.hook_pid:
        label += f" (pid {state.hook_pid})"
    if state.interrupted:
        label += f", interrupted {state.interrupted}x"
    if state.timed_out:
        label += ", timed out"
    exit_code = "" if state.status_code is None else str(state.status_code)
    duration = ""
    if state.started_at is not None:
        duration = _duration((state.finished_at or now) - state.started_at)
    if entry is not None:
        tries = entry.get("tries", 0)
        last = f"pending, {tries} failed tries" + (f": {entry['last_error']}" if entry.get("last_error") else "")
    elif state.state == SIGNALLED:
        last = f"{state.signal} {_time(state.signalled_at)}".strip()
        if state.signal_detail:
            last += f": {state.signal_detail}"
    elif state.state == FINISHED:
        last = "not yet queued"
    else:
        last = ""
    name = state.name or ""
    if listed is not None and state.id not in listed:
        name += " (no longer listed)"
    return {"id": state.id, "name": name, "action": state.action or "", "state": label, "exit": exit_code,
            "duration": duration, "last_signal": last, "listed": listed is None or state.id in listed}


def print_table(rows: list[dict], out: TextIO) -> None:
    if not rows:
        out.write("no deployments yet\n")
        return
    keys = ("id", "name", "action", "state", "exit", "duration", "last_signal")
    table = [HEADERS] + [tuple(str(r[k]) for k in keys) for r in rows]
    widths = [max(len(line[i]) for line in table) for i in range(len(keys) - 1)]
    for line in table:
        out.write("  ".join(cell.ljust(w) for cell, w in zip(line, widths)) + "  " + line[-1] + "\n")


def _listed_ids(paths: Paths) -> set[str] | None:
    try:
        with open(paths.heat_config, encoding="utf-8") as f:
            items = json.load(f)
    except (OSError, ValueError):
        return None
    return {i.get("id") for i in items if isinstance(i, dict)} if isinstance(items, list) else None


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    return f"{minutes // 60}h{minutes % 60:02d}m"


def _time(ts: float | None) -> str:
    if ts is None:
        return ""
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
