"""Durable signal delivery: a result is written to the outbox before it is sent and removed only
once the server took it, so a result produced while the server was down arrives when it is back.

One entry per deployment id (`<outbox>/<id>.json`), holding the payload exactly as the hook
produced it: a retry resends that same result, never a new one. Entries the server refused for
good (a 4xx) are moved to `<outbox>/rejected/` for the operator rather than retried forever.
"""
from __future__ import annotations

import json
import logging
import os
import time
from typing import Any, Callable

from agent import atomic
from agent.deployment import describe, input_values
from agent.signals import SignalError, SignalTransport, TransportSelector

log = logging.getLogger(__name__)

SENT = "sent"
PENDING = "pending"
REJECTED = "rejected"
NO_SIGNAL = "no-signal"

Chooser = Callable[[dict], "SignalTransport | None"]


class Outbox:
    def __init__(self, directory: str, choose: Chooser | None = None, clock: Callable[[], float] = time.time):
        self.directory = directory
        self.choose = choose or TransportSelector()
        self.clock = clock

    def deliver(self, item: dict, payload: dict[str, Any]) -> str:
        """Queue and send the result of one deployment; returns SENT, PENDING, REJECTED or NO_SIGNAL."""
        transport = self.choose(item)
        if transport is None:
            declared = input_values(item).get("deploy_signal_transport")
            if declared in (None, "NO_SIGNAL"):
                log.info("%s: no signal transport in its inputs (NO_SIGNAL); result not sent", describe(item))
            else:
                log.warning("%s: signal transport %s is not supported by this agent; result not sent",
                            describe(item), declared)
            return NO_SIGNAL
        entry = {
            # Only what a transport reads: the deployment's identity and inputs (URL, verb).
            "item": {k: item[k] for k in ("id", "name", "group", "inputs") if k in item},
            "payload": payload,
            "queued_at": self.clock(),
        }
        path = self._path(item["id"])
        atomic.ensure_dir(self.directory)
        atomic.write_json(path, entry, indent=None)
        return self._attempt(path, entry, transport)

    def pending(self) -> list[str]:
        """Ids of results not yet delivered, oldest first."""
        return [os.path.basename(path)[:-len(".json")] for path, _ in self._entries()]

    def flush(self) -> int:
        """Try every pending result, oldest first; returns how many are still pending."""
        entries = self._entries()
        for index, (path, entry) in enumerate(entries):
            transport = self.choose(entry["item"])
            if transport is None:  # cannot happen for entries this code wrote; do not keep them forever
                os.unlink(path)
                continue
            if self._attempt(path, entry, transport) == PENDING:
                # The server is most likely down: later entries would fail the same way, slowly.
                left = len(entries) - index
                log.info("%d signal(s) pending in %s", left, self.directory)
                return left
        return 0

    def _attempt(self, path: str, entry: dict, transport: SignalTransport) -> str:
        item, payload = entry["item"], entry["payload"]
        try:
            transport.send(item, payload)
        except SignalError as exc:
            if exc.retryable:
                log.warning("%s: signal not delivered: %s; kept in the outbox, will retry", describe(item), exc)
                return PENDING
            rejected = os.path.join(atomic.ensure_dir(os.path.join(self.directory, "rejected")),
                                    os.path.basename(path))
            os.replace(path, rejected)
            log.error("%s: signal refused: %s; moved to %s", describe(item), exc, rejected)
            return REJECTED
        os.unlink(path)
        log.info("%s: signalled (deploy_status_code %s)", describe(item), payload.get("deploy_status_code", 0))
        return SENT

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
            except (OSError, ValueError) as exc:
                log.error("outbox entry %s is unreadable (%s); moved aside", path, exc)
                os.replace(path, path + ".bad")
                continue
            entries.append((path, entry))
        entries.sort(key=lambda pe: (pe[1].get("queued_at", 0), pe[0]))
        return entries

    def _path(self, deployment_id: str) -> str:
        return os.path.join(self.directory, deployment_id + ".json")
