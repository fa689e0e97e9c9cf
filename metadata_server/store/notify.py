"""PostgreSQL's LISTEN/NOTIFY: how one process wakes the others sharing its database.

A write sends NOTIFY inside its own transaction (`send`), so the message leaves on commit, never
for a write that rolled back. Each process holds one extra connection that LISTENs on every
channel a part of it subscribed to (`listener`) and calls the subscribers on its own thread.

Messages are only a wake-up: what they announce is also in a table (document_change,
stack_request), and a subscriber's `on_connect` reads that table to catch up on whatever it
missed while not listening (at start, and after the connection was lost). SQLite has one
process per database file, or workers tailing those tables: `listener` is None there.
"""
from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass, field
from typing import Callable

from sqlalchemy import func, select
from sqlalchemy.engine import Connection, Engine

log = logging.getLogger("stoker.server")

CHANGES = "stoker_document_change"   # "<seq>:<server id>": a server's document changed
ENGINES = "stoker_engine"            # "<stack id>": a request for the stack's running operation
RECONNECT_SECONDS = (0.2, 0.5, 1.0, 2.0, 5.0)
PAYLOAD_LIMIT = 7999  # PostgreSQL's: messages carry ids only, never data
APPLICATION_NAME = "stoker-listen"  # how the connection shows in pg_stat_activity


def shared(engine: Engine) -> bool:
    """Whether other processes, perhaps on other hosts, may write this database."""
    return engine.dialect.name == "postgresql"


def send(conn: Connection, channel: str, payload: str) -> None:
    """NOTIFY `channel` when `conn`'s transaction commits (nothing on SQLite)."""
    if conn.dialect.name == "postgresql":
        conn.execute(select(func.pg_notify(channel, payload[:PAYLOAD_LIMIT])))


@dataclass
class _Subscription:
    on_message: Callable[[str], None]
    on_connect: Callable[[], None] | None = None


@dataclass
class Listener:
    """One LISTEN connection for a database, shared by everything in this process."""
    dsn: str
    _subscriptions: dict[str, list[_Subscription]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _connected: threading.Event = field(default_factory=threading.Event)
    _resubscribe: bool = False

    def subscribe(self, channel: str, on_message: Callable[[str], None],
                  on_connect: Callable[[], None] | None = None) -> None:
        """Call `on_message(payload)` for each message on `channel`, and `on_connect()` each time
        the connection is (re)made, after LISTEN, so nothing sent meanwhile is missed."""
        with self._lock:
            self._subscriptions.setdefault(channel, []).append(_Subscription(on_message,
                                                                             on_connect))
            self._resubscribe = True
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, daemon=True,
                                                name="stoker-listen")
                self._thread.start()

    def unsubscribe(self, channel: str, on_message: Callable[[str], None]) -> None:
        with self._lock:
            subscriptions = self._subscriptions.get(channel, [])
            subscriptions[:] = [s for s in subscriptions if s.on_message != on_message]

    def wait_connected(self, timeout: float) -> bool:
        return self._connected.wait(timeout)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)

    def _run(self) -> None:
        import psycopg
        failures = 0
        while not self._stop.is_set():
            try:
                with psycopg.connect(self.dsn, autocommit=True, connect_timeout=10,
                                     application_name=APPLICATION_NAME) as conn:
                    failures = 0
                    self._listen(conn)
            except Exception as exc:  # the database restarted or is away: reconnect
                self._connected.clear()
                if failures == 0:
                    log.warning("LISTEN connection lost (%s: %s); reconnecting",
                                type(exc).__name__, str(exc).splitlines()[0] if str(exc) else "")
                delay = RECONNECT_SECONDS[min(failures, len(RECONNECT_SECONDS) - 1)]
                failures += 1
                self._stop.wait(delay)

    def _listen(self, conn) -> None:
        listening: set[str] = set()
        caught_up: set[int] = set()  # subscriptions whose on_connect ran on this connection
        while not self._stop.is_set():
            with self._lock:
                fresh = self._resubscribe or not listening
                self._resubscribe = False
                channels = {c: list(s) for c, s in self._subscriptions.items()}
            if fresh:
                for channel in channels:
                    if channel not in listening:
                        conn.execute(f'LISTEN "{channel}"')
                        listening.add(channel)
                self._connected.set()
                # after LISTEN: what was sent before it is read from the tables now
                for subscription in (s for subs in channels.values() for s in subs):
                    if id(subscription) not in caught_up:
                        caught_up.add(id(subscription))
                        if subscription.on_connect is not None:
                            self._call(subscription.on_connect)
            # wake at least twice a second to see a stop or a new subscription
            for message in conn.notifies(timeout=0.5):
                for subscription in channels.get(message.channel, ()):
                    self._call(subscription.on_message, message.payload)

    @staticmethod
    def _call(callback, *args) -> None:
        try:
            callback(*args)
        except Exception:  # one subscriber's bug must not stop the others' messages
            log.exception("LISTEN subscriber failed")


_listeners: dict[tuple[int, str], Listener] = {}
_listeners_lock = threading.Lock()


def listener(engine: Engine) -> Listener | None:
    """This process's listener for `engine`'s database; None where there is no NOTIFY."""
    if not shared(engine):
        return None
    dsn = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    key = (os.getpid(), dsn)  # a forked worker listens on a connection of its own
    with _listeners_lock:
        found = _listeners.get(key)
        if found is None:
            found = _listeners[key] = Listener(dsn)
        return found
