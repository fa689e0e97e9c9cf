"""Durable signal delivery: a result is written to the outbox before it is sent and removed only
once the server took it (any 2xx), so a result produced while the server was down arrives when it
is back, even across agent restarts.

One entry per deployment id (`<outbox>/<id>.json`), holding the payload exactly as the hook
produced it and the result's attempt id: a retry resends that same result with the same
`X-Stoker-Attempt`, never a new one. Retries back off exponentially with jitter, and never come
sooner than a server's `Retry-After` asked (capped, see stoker_common/retry_after.py); the time of the
next try is kept in the entry, so a restarted agent does not hammer a server that is down. Entries
the server refused for good (a 4xx other than 408/429) are moved to `<outbox>/rejected/` for the
operator rather than retried forever.
"""
from __future__ import annotations

import json
import logging
import os
import random
import time
import uuid
from typing import Any, Callable

from agent.deployment import describe, input_values
from agent.signals import SignalError, SignalTransport, TransportSelector
from stoker_common import atomic
from stoker_common.retry import RetryPolicy

log = logging.getLogger(__name__)

SENT = "sent"
PENDING = "pending"
REJECTED = "rejected"
NO_SIGNAL = "no-signal"

Chooser = Callable[[dict], "SignalTransport | None"]
# (deployment id, outcome, detail) -> None; told when an entry is done with (or still pending).
Listener = Callable[[str, str, "str | None"], None]


def new_attempt() -> str:
    return str(uuid.uuid4())


class Outbox:
    def __init__(self, directory: str, choose: Chooser | None = None, clock: Callable[[], float] = time.time,
                 retry_base: float = 1.0, retry_max: float = 300.0, jitter: float = 0.2,
                 rand: Callable[[], float] = random.random, listener: Listener | None = None):
        self.directory = directory
        self.choose = choose or TransportSelector()
        self.clock = clock
        self.retry = RetryPolicy(retry_base, retry_max, jitter, rand)
        self.listener = listener

    def enqueue(self, item: dict, payload: dict[str, Any], attempt: str | None = None) -> str | None:
        """Write the entry (durably) without sending; returns its path, or None for NO_SIGNAL."""
        if self.choose(item) is None:
            return None
        entry = {
            # Only what a transport reads: the deployment's identity and inputs (URL, credentials).
            "item": {k: item[k] for k in ("id", "name", "group", "inputs") if k in item},
            "payload": payload,
            "attempt": attempt or new_attempt(),
            "queued_at": self.clock(),
            "tries": 0,
            "next_try_at": 0,
        }
        path = self._path(item["id"])
        atomic.ensure_dir(self.directory)
        atomic.write_json(path, entry, indent=None)
        return path

    def deliver(self, item: dict, payload: dict[str, Any], attempt: str | None = None) -> str:
        """Queue and send the result of one deployment; returns SENT, PENDING, REJECTED or NO_SIGNAL."""
        path = self.enqueue(item, payload, attempt)
        if path is None:
            declared = input_values(item).get("deploy_signal_transport")
            if declared in (None, "NO_SIGNAL"):
                log.info("%s: no signal transport in its inputs (NO_SIGNAL); result not sent", describe(item))
            else:
                log.warning("%s: signal transport %s has none of the inputs it needs; result not sent",
                            describe(item), declared)
            self._tell(item["id"], NO_SIGNAL, None)
            return NO_SIGNAL
        with open(path, encoding="utf-8") as f:
            entry = json.load(f)
        return self._attempt(path, entry, self.choose(item))

    def has(self, deployment_id: str) -> bool:
        return os.path.exists(self._path(deployment_id))

    def pending(self) -> list[str]:
        """Ids of results not yet delivered, oldest first."""
        return [os.path.basename(path)[:-len(".json")] for path, _ in self._entries()]

    def entries(self) -> list[dict]:
        return [entry for _, entry in self._entries()]

    def next_due(self) -> float | None:
        """When the earliest pending entry is due (clock time), or None with nothing pending."""
        times = [entry.get("next_try_at", 0) for _, entry in self._entries()]
        return min(times) if times else None

    def flush(self, force: bool = False) -> int:
        """Try every pending result that is due, oldest first; returns how many are still pending."""
        entries = self._entries()
        now = self.clock()
        for index, (path, entry) in enumerate(entries):
            if not force and entry.get("next_try_at", 0) > now:
                continue
            transport = self.choose(entry["item"])
            if transport is None:  # cannot happen for entries this code wrote; do not keep them forever
                os.unlink(path)
                continue
            if self._attempt(path, entry, transport) == PENDING:
                # The server is most likely down: later entries would fail the same way, slowly.
                left = len(entries) - index
                log.info("%d signal(s) pending in %s", left, self.directory)
                return left
        return len(self._entries())

    def _attempt(self, path: str, entry: dict, transport: SignalTransport) -> str:
        item, payload = entry["item"], entry["payload"]
        if not entry.get("attempt"):  # written by an older agent: give the result its id now
            entry["attempt"] = new_attempt()
        try:
            transport.send(item, payload, entry["attempt"])
        except SignalError as exc:
            if exc.retryable:
                entry["tries"] = tries = entry.get("tries", 0) + 1
                delay = self.retry.delay(tries, exc.retry_after)
                entry["next_try_at"] = self.clock() + delay
                entry["last_error"] = str(exc)
                atomic.write_json(path, entry, indent=None)
                log.warning("%s: signal not delivered: %s; kept in the outbox, next try in %.1fs",
                            describe(item), exc, delay)
                self._tell(item["id"], PENDING, str(exc))
                return PENDING
            rejected = os.path.join(atomic.ensure_dir(os.path.join(self.directory, "rejected")),
                                    os.path.basename(path))
            entry["last_error"] = str(exc)
            atomic.write_json(rejected, entry, indent=None)
            os.unlink(path)
            log.error("%s: signal refused: %s; moved to %s", describe(item), exc, rejected)
            self._tell(item["id"], REJECTED, str(exc))
            return REJECTED
        os.unlink(path)
        log.info("%s: signalled (deploy_status_code %s)", describe(item), payload.get("deploy_status_code", 0))
        self._tell(item["id"], SENT, None)
        return SENT

    def _tell(self, ident: str, outcome: str, detail: str | None) -> None:
        if self.listener is not None:
            try:
                self.listener(ident, outcome, detail)
            except Exception as exc:  # bookkeeping must never lose the delivery itself
                log.error("%s: could not record signal outcome %s: %s", ident, outcome, exc)

    def _entries(self) -> list[tuple[str, dict]]:
        try:
            names = [n for n in os.listdir(self.directory) if n.endswith(".json") and not n.startswith(".")]
        except FileNotFoundError:
            return []
        entries = []
        for name in names:
            path = os.path.join(self.directory, name)
            try:
                with open(path, encoding="utf-8") as f:
                    entry = json.load(f)
                if not (isinstance(entry, dict) and isinstance(entry.get("item"), dict)
                        and isinstance(entry.get("payload"), dict)):
                    raise ValueError("not an outbox entry")
            except FileNotFoundError:
                continue  # delivered by another process (heat-config-notify) meanwhile
            except (OSError, ValueError) as exc:
                log.error("outbox entry %s is unreadable (%s); moved aside", path, exc)
                os.replace(path, path + ".bad")
                continue
            entries.append((path, entry))
        entries.sort(key=lambda pe: (pe[1].get("queued_at", 0), pe[0]))
        return entries

    def _path(self, deployment_id: str) -> str:
        return os.path.join(self.directory, deployment_id + ".json")
