"""Where each deployment stands, on disk: received -> running -> finished(rc) -> signalled.

One file per deployment id, `<state>/deployments/<id>.json`, rewritten atomically at every step,
so that after a crash (kill -9, power loss) the next start knows exactly what was interrupted:

- `received`: seen, hook not started yet -> run it;
- `running`: the hook was started and its result never recorded -> kill what is left of it and run
  it again (a hook that rebooted the machine, or an agent killed mid-hook, gets another go), up to
  MAX_INTERRUPTED times, then report the interruption as a failure rather than loop forever;
- `finished`: the result and its attempt id are recorded -> make sure it is in the outbox (with the
  same attempt id, so a resend is recognised by the server as the same result), never run again;
- `signalled`: the outbox is done with it (delivered, refused, or nothing to send).

Upstream's markers (`deployed/<id>.json`, `<id>.notify.json`) are still written for existing
tooling; this file is what stoker itself trusts.
"""
from __future__ import annotations

import json
import logging
import os
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Iterator

from stoker_common import atomic

log = logging.getLogger(__name__)

RECEIVED = "received"
RUNNING = "running"
FINISHED = "finished"
SIGNALLED = "signalled"
STATES = (RECEIVED, RUNNING, FINISHED, SIGNALLED)

# A hook interrupted this many times (agent killed, machine rebooted) is reported as failed.
MAX_INTERRUPTED = 3


@dataclass
class DeploymentState:
    id: str
    name: str | None = None
    group: str | None = None
    action: str | None = None
    state: str = RECEIVED
    received_at: float | None = None
    started_at: float | None = None
    finished_at: float | None = None
    status_code: Any = None
    timed_out: bool = False
    attempt: str | None = None  # X-Stoker-Attempt of the recorded result
    hook_pid: int | None = None
    hook_started: float | None = None  # the hook process's create_time, to recognise it after a restart
    interrupted: int = 0  # runs that never recorded a result
    signal: str | None = None  # outbox outcome: sent, pending, rejected, no-signal
    signal_detail: str | None = None
    signalled_at: float | None = None
    log_dir: str | None = None
    history: list[dict] = field(default_factory=list)  # earlier results (redeploys), newest last

    @property
    def duration(self) -> float | None:
        if self.started_at is None:
            return None
        return (self.finished_at or time.time()) - self.started_at


class StateStore:
    def __init__(self, directory: str, clock: Callable[[], float] = time.time):
        self.directory = directory
        self.clock = clock

    def path(self, ident: str) -> str:
        return os.path.join(self.directory, ident + ".json")

    def get(self, ident: str) -> DeploymentState | None:
        try:
            with open(self.path(ident), encoding="utf-8") as f:
                data = json.load(f)
            return DeploymentState(**{k: v for k, v in data.items() if k in _FIELDS})
        except FileNotFoundError:
            return None
        except (OSError, ValueError, TypeError) as exc:
            # A state file is always written atomically, so this is outside damage; say so and
            # treat the deployment as new rather than skip it silently.
            log.error("deployment state %s is unreadable (%s); moved aside", self.path(ident), exc)
            os.replace(self.path(ident), self.path(ident) + ".bad")
            return None

    def put(self, state: DeploymentState) -> DeploymentState:
        atomic.ensure_dir(self.directory)
        atomic.write_json(self.path(state.id), asdict(state), indent=1)
        return state

    def transition(self, state: DeploymentState, new: str, **changes: Any) -> DeploymentState:
        if new not in STATES:
            raise ValueError(f"unknown deployment state {new!r}")
        state.state = new
        for key, value in changes.items():
            setattr(state, key, value)
        return self.put(state)

    def forget(self, ident: str) -> None:
        try:
            os.unlink(self.path(ident))
        except FileNotFoundError:
            pass

    def all(self) -> Iterator[DeploymentState]:
        try:
            names = sorted(n for n in os.listdir(self.directory) if n.endswith(".json") and not n.startswith("."))
        except FileNotFoundError:
            return
        for name in names:
            state = self.get(name[:-len(".json")])
            if state is not None:
                yield state

    def mark_signalled(self, ident: str, outcome: str, detail: str | None = None) -> None:
        """Called by the outbox when it is done with a result."""
        state = self.get(ident)
        if state is None:
            return
        if outcome == "pending":
            state.signal, state.signal_detail = outcome, detail
            self.put(state)
            return
        self.transition(state, SIGNALLED, signal=outcome, signal_detail=detail, signalled_at=self.clock())


_FIELDS = set(DeploymentState.__dataclass_fields__)
