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
from cli.operator.diagnosis import (blocker_hint, deployment_details, failure_lines,
                                    is_deployment)
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
            self.status = None


def wait_for_stack(client: Client, stack_path: str, stack_name: str, action: str, *,
                   seen: set[str] | None = None, poll: float = 1.0, timeout: float = 3600,
                   stream=None, sleep: Callable[[float], None] = time.sleep,
                   monotonic: Callable[[], float] = time.monotonic,
                   relocate: Callable[[str], str] = str, cancelling: bool = False) -> dict | None:
    """Poll until the stack leaves *_IN_PROGRESS for `action` (or ROLLBACK); returns the stack
    (None once deleted); `cancelling` takes the FAILED or rolled back end a cancel
    brings as success. Raises CliError WAIT_FAILED (after printing the cause: the failed
    resource, its deployment's stderr) / WAIT_TIMEOUT (naming what blocks). `relocate` maps
    positions in reasons back into the operator's files."""
    display = _Display(stream or sys.stderr)
    seen = set(seen or ())
    deadline = monotonic() + timeout
    failure = _FirstFailure(client, stack_name)
    try:
        while True:
            for event in _new_events(client, stack_path, seen):
                failure.note(event)
                display.event(relocate(event_line(event)))
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
                    failure.note(event)
                    display.event(relocate(event_line(event)))
                if action == "DELETE" and status == "DELETE_COMPLETE":
                    return None
                if cancelling and status in (f"{action}_FAILED", "ROLLBACK_COMPLETE"):
                    return stack   # what a cancel ends in, with or without its rollback
                if state == "FAILED" or stack_action == "ROLLBACK":
                    display.close()
                    raise failure.error(stack, stack_path, action, relocate, display)
                return stack
            if monotonic() >= deadline:
                hint = blocker_hint(client, stack["id"]) or \
                    f"follow it with `stoker stack event list {stack_name}`"
                raise CliError(f"stack {stack_name} is still {status} after {timeout:g} s; "
                               f"{hint}", WAIT_TIMEOUT)
            sleep(poll)
    finally:
        display.close()


class _FirstFailure:
    """The first resource that failed in this operation; a deployment's record is fetched the
    moment it fails, because a rollback deletes it soon after."""

    def __init__(self, client: Client, stack_name: str):
        self.client, self.stack_name = client, stack_name
        self.event: dict | None = None
        self.captured: dict[str, dict] = {}

    def note(self, event: dict) -> None:
        status = str(event.get("resource_status", ""))
        if (self.event is not None or not status.endswith("_FAILED")
                or status.startswith("ROLLBACK") or event.get("resource_name") == self.stack_name):
            return
        self.event = event
        physical = event.get("physical_resource_id")
        if physical and is_deployment(event.get("resource_type")):
            found = deployment_details(self.client, physical)
            if found is not None:
                self.captured[physical] = found

    def error(self, stack: dict, stack_path: str, action: str, relocate, display) -> CliError:
        status = stack.get("stack_status", "")
        reason = stack.get("stack_status_reason") or "no reason given"
        name = self.stack_name
        if status.startswith("ROLLBACK") and self.event is not None:
            original = self.event.get("resource_status_reason") or "no reason given"
            reason = (f"{action} failed ({self.event.get('resource_name')}: {original}) and was "
                      f"rolled back ({status})")
            status = f"{action}_FAILED"
        lines = failure_lines(self.client, stack["id"], self.event, self.captured)
        if lines and lines[0].split("): ", 1)[-1] in reason:
            lines = lines[1:]   # the stack's reason already says it
        for line in lines:
            display.event(relocate(line))
        return CliError(relocate(f"stack {name} {status}: {reason}; see "
                                 f"`stoker stack event list {name}`"), WAIT_FAILED)


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
