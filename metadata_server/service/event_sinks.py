"""Delivery of stack events to their sinks, on threads of its own beside the server's
background work: it never runs on the engine's or a request's thread.

Each pass takes due rows from the outbox (store/event_outbox.py), claims one for a lease,
and POSTs it on a bounded pool; one sink has at most `per_sink` deliveries in flight, so a slow
or hung receiver holds a few threads and its own rows only. A failed attempt is retried after an
exponential backoff with jitter (or the receiver's Retry-After, when later), until the event is
`max_age` seconds old; then it is dropped, logged (sink type and host only) and counted.
"""
from __future__ import annotations

import ipaddress
import logging
import random
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

import requests

from metadata_server.store.event_sinks_spec import (EVENT_ID_HEADER, SERVER,
                                                      SIGNATURE_HEADER, TIMESTAMP_HEADER,
                                                      WEBHOOK, ZAQAR, body_bytes, signature)
from metadata_server.service.zaqar_sink import ZaqarQueues, ZaqarUnavailable
from metadata_server.store import event_outbox
from metadata_server.store.event_outbox import Outbox

log = logging.getLogger("stoker.event_sinks")


@dataclass
class DeliveryOptions:
    server_url: str | None = None          # --event-webhook
    server_secret: str | None = None       # its secret (from a file or the environment)
    allow_networks: list = field(default_factory=list)   # tenant targets allowed in private
    max_age: float = 86400.0               # give up on an event this old (seconds)
    max_pending_per_tenant: int = 10000
    threads: int = 8
    per_sink: int = 2                      # fewer than threads: one hung sink cannot hold all
    batch: int = 128                       # rows read per pass
    connect_timeout: float = 5.0
    read_timeout: float = 10.0
    backoff_base: float = 1.0
    backoff_cap: float = 300.0
    poll_interval: float = 1.0
    zaqar: ZaqarQueues | None = None       # --zaqar-url: where zaqar-queue sinks post


class Refused(Exception):
    """A delivery that no retry can make succeed (a forbidden target, a 4xx answer)."""


class Retry(Exception):
    def __init__(self, reason: str, after: float | None = None):
        super().__init__(reason)
        self.after = after


def retry_after(value: str | None, now: float) -> float | None:
    """Seconds a Retry-After header asks for (delta seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - now)
    except (TypeError, ValueError):
        return None


def backoff(attempts: int, base: float, cap: float, rng=random.random) -> float:
    """Full-jitter-ish exponential backoff: between half and all of base * 2^attempts."""
    delay = min(cap, base * (2 ** min(attempts, 30)))
    return delay / 2 + rng() * delay / 2


class EventDelivery:
    def __init__(self, engine, metrics, options: DeliveryOptions | None = None,
                 clock=time.time):
        self.options = options or DeliveryOptions()
        self.outbox = Outbox(engine)
        self.metrics = metrics
        self.clock = clock
        self._networks = [ipaddress.ip_network(n, strict=False)
                          for n in self.options.allow_networks]
        self._in_flight: dict[str, int] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._pool: ThreadPoolExecutor | None = None
        self._thread: threading.Thread | None = None
        self._session = requests.Session()
        self._session.trust_env = False   # no proxy from the environment sees tenant payloads
        # whoever writes events in this process: a server-wide sink gets an outbox row too
        event_outbox.SETTINGS.server_sink = bool(self.options.server_url)
        event_outbox.SETTINGS.zaqar = self.options.zaqar is not None
        event_outbox.SETTINGS.max_pending_per_tenant = self.options.max_pending_per_tenant

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> "EventDelivery":
        self._pool = ThreadPoolExecutor(self.options.threads, thread_name_prefix="stoker-sink")
        self._thread = threading.Thread(target=self._run, name="stoker-event-sinks",
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        event_outbox.SETTINGS.wake.set()
        if self._thread is not None:
            self._thread.join(5)
        if self._pool is not None:
            # a hung receiver is left to its timeout; its row's lease runs out and it is retried
            self._pool.shutdown(wait=False, cancel_futures=True)

    def _run(self) -> None:
        failing = False
        while not self._stop.is_set():
            try:
                self.pass_once()
                failing = False
            except Exception as exc:  # the database briefly away: say it once
                if not failing:
                    log.error("event delivery failed: %s: %s; retrying", type(exc).__name__, exc)
                failing = True
            event_outbox.SETTINGS.wake.wait(self.options.poll_interval)
            event_outbox.SETTINGS.wake.clear()

    # -- one pass ----------------------------------------------------------------------------
    def pass_once(self) -> int:
        """Start deliveries of due rows, within the per-sink and pool bounds; how many."""
        now = self.clock()
        lease = now + self.options.connect_timeout + self.options.read_timeout + 30
        started = 0
        with self._lock:   # a busy (maybe hung) sink's rows are not even read: others go on
            busy = [k for k, n in self._in_flight.items() if n >= self.options.per_sink]
        for row in self.outbox.due(now, self.options.batch, busy):
            key = row["sink_key"]
            with self._lock:
                if self._in_flight.get(key, 0) >= self.options.per_sink:
                    continue
                if sum(self._in_flight.values()) >= self.options.threads:
                    break      # never queued behind a hung delivery in the pool
                if not self.outbox.claim(row, lease):
                    continue
                self._in_flight[key] = self._in_flight.get(key, 0) + 1
            self._pool.submit(self._deliver_and_release, row)
            started += 1
        return started

    def _deliver_and_release(self, row: dict) -> None:
        try:
            self.deliver(row)
        except Exception:  # never lose the worker to one row
            log.exception("event delivery of %s failed", row["event_id"])
        finally:
            with self._lock:
                self._in_flight[row["sink_key"]] -= 1
            event_outbox.SETTINGS.wake.set()   # the sink has room again

    def deliver(self, row: dict) -> None:
        sink = row["sink"]
        kind = sink.get("type")
        try:
            if kind == SERVER:
                if not self.options.server_url:
                    raise Refused("no server-wide webhook is configured in this process")
                self._post(self.options.server_url, self.options.server_secret, row)
            elif kind == WEBHOOK:
                self._check_target(sink["target"])
                self._post(sink["target"], sink.get("secret"), row)
            elif kind == ZAQAR:
                self._post_zaqar(sink, row)
            else:
                raise Refused(f"unknown sink type {kind!r}")
        except Retry as exc:
            self._failed(row, str(exc), exc.after)
        except Refused as exc:
            self._give_up(row, str(exc))
        else:
            self.metrics.inc("stoker_event_sink_delivered_total", sink=kind)
            self.outbox.done(row["seq"])

    def _post(self, url: str, secret: str | None, row: dict) -> None:
        body = body_bytes(row["body"])
        stamp = int(self.clock())
        headers = {"Content-Type": "application/json", EVENT_ID_HEADER: row["event_id"],
                   TIMESTAMP_HEADER: str(stamp), "User-Agent": "stoker-event-sink"}
        if secret:
            headers[SIGNATURE_HEADER] = signature(secret, stamp, body)
        self._send(url, headers, body)

    def _post_zaqar(self, sink: dict, row: dict) -> None:
        if self.options.zaqar is None:
            raise Refused("no Zaqar is configured in this process (--zaqar-url)")
        try:
            url, headers, body = self.options.zaqar.request(sink, row)
        except ZaqarUnavailable as exc:
            raise Retry(str(exc))
        except LookupError as exc:
            raise Refused(str(exc))
        self._send(url, headers, body)

    def _send(self, url: str, headers: dict, body: bytes) -> None:
        try:
            answer = self._session.post(url, data=body, headers=headers, allow_redirects=False,
                                        timeout=(self.options.connect_timeout,
                                                 self.options.read_timeout))
        except requests.RequestException as exc:
            raise Retry(type(exc).__name__)
        with answer:
            code = answer.status_code
            if 200 <= code < 300:
                return
            if code in (408, 425, 429) or code >= 500:
                raise Retry(f"HTTP {code}", retry_after(answer.headers.get("Retry-After"),
                                                        self.clock()))
            raise Refused(f"HTTP {code}")   # 3xx (no redirects followed) and other 4xx

    def _check_target(self, url: str) -> None:
        """A tenant's URL must not reach the operator's internal network unless allowed."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise Refused("target is not an http(s) URL")
        try:
            infos = socket.getaddrinfo(parts.hostname, parts.port or 443, proto=socket.IPPROTO_TCP)
        except (OSError, UnicodeError):
            raise Retry("name does not resolve")
        for info in infos:
            address = ipaddress.ip_address(info[4][0].split("%")[0])
            if any(address in net for net in self._networks):
                continue
            if not address.is_global or address.is_multicast:
                raise Refused(f"target address {address} is internal; an operator may allow "
                              "it with --event-sink-allow-network")

    def _failed(self, row: dict, reason: str, after: float | None) -> None:
        now, attempts = self.clock(), row["attempts"] + 1
        delay = backoff(attempts - 1, self.options.backoff_base, self.options.backoff_cap)
        if after is not None:
            delay = max(delay, min(after, 3600.0))
        if now + delay - row["created_at"] > self.options.max_age:
            self._give_up(row, f"{reason} after {attempts} attempts")
            return
        self.metrics.inc("stoker_event_sink_retries_total", sink=row["sink"].get("type"))
        self.outbox.retry(row["seq"], attempts, now + delay, reason)

    def _give_up(self, row: dict, reason: str) -> None:
        # counted before the row goes: who sees the outbox empty sees every count
        self.metrics.inc("stoker_event_sink_failed_total", sink=row["sink"].get("type"))
        log.warning("event sink %s (%s): event %s of stack %s not delivered: %s",
                    row["sink"].get("type"), _where(row["sink"]), row["event_id"],
                    row["stack_id"], reason)
        self.outbox.done(row["seq"])


def _where(sink: dict) -> str:
    """A sink named without secrets: a webhook's host only (its path or query may hold one)."""
    if sink.get("type") == WEBHOOK:
        return urlsplit(sink.get("target", "")).hostname or "?"
    if sink.get("type") == ZAQAR:
        return f"queue {sink.get('target')}"
    return "server-wide webhook"
