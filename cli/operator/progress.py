"""`--wait`: follow a stack operation, printing each event as it is recorded.

Events go to stderr (stdout stays the command's result, so `-f json --wait` can be piped). With
`rich` installed and stderr a terminal, a spinner line shows the stack's current status under
the events; without it, the events alone are the display.
"""
from __future__ import annotations

import sys
import time
from typing import Callable

from cli.operator.client import Client
from cli.operator.errors import NOT_FOUND, WAIT_FAILED, WAIT_TIMEOUT, CliError


def event_line(event: dict) -> str:
    reason = event.get("resource_status_reason") or ""
    return (f"{event.get('event_time', '')} [{event.get('resource_name', '')}]: "
            f"{event.get('resource_status', '')}  {reason}").rstrip()


def event_ids(client: Client, stack_path: str) -> set[str]:
    try:
        return {e.get("id") for e in client.get(f"{stack_path}/events")["events"]}
    except CliError as exc:
        if exc.code == NOT_FOUND:
            return set()
        raise


class _Display:
    def __init__(self, stream):
        self.stream, self.status = stream, None
        try:
            if not stream.isatty():
                raise ImportError
            from rich.console import Console
            self.console = Console(file=stream)
            self.status = self.console.status("waiting")
            self.status.start()
        except ImportError:
            self.console = None

    def event(self, text: str) -> None:
        if self.console is not None:
            self.console.print(text, markup=False, highlight=False)
        else:
            print(text, file=self.stream, flush=True)

    def state(self, text: str) -> None:
        if self.status is not None:
            self.status.update(text)

    def close(self) -> None:
        if self.status is not None:
            self.status.stop()


def wait_for_stack(client: Client, stack_path: str, stack_name: str, action: str, *,
                   seen: set[str] | None = None, poll: float = 1.0, timeout: float = 3600,
                   stream=None, sleep: Callable[[float], None] = time.sleep,
                   monotonic: Callable[[], float] = time.monotonic) -> dict | None:
    """Poll until the stack leaves *_IN_PROGRESS for `action` (or ROLLBACK); returns the stack
    (None once deleted). Raises CliError WAIT_FAILED / WAIT_TIMEOUT."""
    display = _Display(stream or sys.stderr)
    seen = set(seen or ())
    deadline = monotonic() + timeout
    try:
        while True:
            for event in _new_events(client, stack_path, seen):
                display.event(event_line(event))
            try:
                stack = client.get(stack_path)["stack"]
            except CliError as exc:
                if exc.code == NOT_FOUND and action == "DELETE":
                    return None
                raise
            status = stack.get("stack_status", "")
            display.state(f"{stack_name}: {status}")
            stack_action, _, state = status.rpartition("_")
            if state != "IN_PROGRESS" and stack_action in (action, "ROLLBACK"):
                for event in _new_events(client, stack_path, seen):
                    display.event(event_line(event))
                if action == "DELETE" and status == "DELETE_COMPLETE":
                    return None
                if state == "FAILED" or stack_action == "ROLLBACK":
                    raise CliError(f"stack {stack_name} {status}: "
                                   f"{stack.get('stack_status_reason') or 'no reason given'}; "
                                   f"see `stoker stack event list {stack_name}`", WAIT_FAILED)
                return stack
            if monotonic() >= deadline:
                raise CliError(f"stack {stack_name} is still {status} after {timeout:g} s; "
                               f"follow it with `stoker stack event list {stack_name}`",
                               WAIT_TIMEOUT)
            sleep(poll)
    finally:
        display.close()


def _new_events(client: Client, stack_path: str, seen: set[str]) -> list[dict]:
    try:
        events = client.get(f"{stack_path}/events", params={"sort_dir": "asc"})["events"]
    except CliError as exc:
        if exc.code == NOT_FOUND:
            return []
        raise
    fresh = [e for e in events if e.get("id") not in seen]
    seen.update(e.get("id") for e in fresh)
    return sorted(fresh, key=lambda e: e.get("event_time") or "")
