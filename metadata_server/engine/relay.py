"""Cancel, delete and signals for a stack whose operation another engine runs.

Any worker of any node may receive them; only the engine running the operation holds its state
(its walk, its waiting resources). So the receiving engine relays: it stores the request
(store/stack_requests.py, which NOTIFYs on PostgreSQL), and the running engine takes it, acts as
if it had received it, and stores the answer the receiver replies with (the same errors, e.g. a
hook that is not set). Whoever takes a stack over (after its engine died) acts on what is still
pending, and once the operation has ended the receiver acts itself; taking is a compare-and-swap,
so a request is acted on once. A receiver that hears nothing for `wait_seconds` (the stack's
engine is gone and not yet replaced) answers as accepted: the request stays, for the engine that
takes the stack over.
"""
from __future__ import annotations

import logging
import threading
import time
import uuid
from typing import TYPE_CHECKING, Any, Callable

from metadata_server.engine import status as st
from metadata_server.service.errors import ServiceError
from metadata_server.store import notify
from metadata_server.store.lanes import use_lane
from metadata_server.store.stack_requests import StackRequests

if TYPE_CHECKING:  # pragma: no cover
    from sqlalchemy.engine import Engine as SAEngine

    from metadata_server.engine.runner import OperationRunner
    from metadata_server.engine.store_seam import EngineStore
    from metadata_server.service.clock import Clock

log = logging.getLogger("stoker.engine")
CANCEL, DELETE, SIGNAL = "cancel", "delete", "signal"
POLL_SECONDS = 0.05         # the receiver's look at its request's answer
RECHECK_SECONDS = 0.5       # ... and at whether the operation ended meanwhile
WAKE_UNNOTIFIED = 0.5       # how often a running engine looks for requests without NOTIFY
WAKE_NOTIFIED = 1.0         # ... and with it (for what a stack taken over left pending)


class Relayed(ServiceError):
    """The running engine's error, raised again on the engine that received the request."""

    def __init__(self, error: dict):
        super().__init__(error.get("message", ""), error.get("type"))
        self.code = int(error.get("code", 500))
        self.title = error.get("title", ServiceError.title)
        self.explanation = error.get("explanation", ServiceError.explanation)


def _error(exc: BaseException) -> dict:
    if isinstance(exc, ServiceError):
        return {"code": exc.code, "title": exc.title, "explanation": exc.explanation,
                "type": exc.error_type, "message": exc.message}
    return {"code": 500, "title": ServiceError.title, "explanation": ServiceError.explanation,
            "type": type(exc).__name__, "message": "internal error; see the server log"}


class Relay:
    """Built with what it needs: the database its requests live in, the stacks, the running
    operations, and `act` (the facade's own cancel, delete or signal for a stack it runs)."""

    def __init__(self, db: "SAEngine", stacks: EngineStore, runner: OperationRunner,
                 clock: Clock, engine_id: str, *, act: Callable[[dict, str, dict], None],
                 alive: Callable[[str], bool | None] | None = None, lane: str | None = None,
                 wait_seconds: float = 30.0):
        self.stacks, self.runner, self.clock, self.engine_id = stacks, runner, clock, engine_id
        self._act_on, self._alive = act, alive
        self.lane, self.wait_seconds = lane, wait_seconds
        self.requests = StackRequests(db)
        self._wake = threading.Event()
        self._stop = threading.Event()
        # one act_on_pending at a time: a caller acting on what was relayed earlier before its
        # own request (a later signal) must wait for the requests the relay thread has taken
        # but not yet acted on, or the later signal overtakes them. Re-entrant: a relayed
        # delete goes through the facade, which acts on what is pending first.
        self._acting = threading.RLock()
        self._listener = notify.listener(db)
        self._interval = WAKE_UNNOTIFIED if self._listener is None else WAKE_NOTIFIED
        if self._listener is not None:
            self._listener.subscribe(notify.ENGINES, self._notified, self._wake.set)
        self._thread = threading.Thread(target=self._run, daemon=True, name="stoker-engine-relay")
        self._thread.start()

    def close(self) -> None:
        if self._listener is not None:
            self._listener.unsubscribe(notify.ENGINES, self._notified)
        self._stop.set()
        self._wake.set()
        self._thread.join(10)

    # -- the receiving engine ------------------------------------------------------------------
    def elsewhere(self, stack: dict) -> bool:
        """Whether another engine runs `stack`'s operation now."""
        return (stack["status"] == st.IN_PROGRESS and stack.get("engine_id") is not None
                and stack["engine_id"] != self.engine_id
                and self.runner.runtime(stack["id"]) is None)

    def ask(self, stack: dict, kind: str, body: dict) -> None:
        """Have the engine running `stack` act on the request; raise its error, if any."""
        request_id = str(uuid.uuid4())
        self.requests.add({"id": request_id, "stack_id": stack["id"], "kind": kind,
                           "body": body, "created_at": self.clock()})
        deadline = time.monotonic() + self.wait_seconds
        recheck = time.monotonic() + RECHECK_SECONDS
        while time.monotonic() < deadline:
            row = self.requests.get(request_id)
            if row is None:
                return  # the stack was purged, and its requests with it
            if row["answer"] is not None:
                self.requests.forget(request_id)
                if row["answer"].get("error"):
                    raise Relayed(row["answer"]["error"])
                return
            if row["taken_by"] is None and time.monotonic() >= recheck:
                recheck = time.monotonic() + RECHECK_SECONDS
                if self._ended(stack["id"]) and self.requests.take(request_id,
                                                                   self.engine_id):
                    try:
                        self._act(row)  # the operation ended meanwhile: nobody else will
                    finally:
                        self.requests.forget(request_id)
                    return
            time.sleep(POLL_SECONDS)
        log.warning("stack %s: no engine acted on the %s request within %gs; it stays for "
                    "the engine that takes the stack over", stack["id"], kind,
                    self.wait_seconds)

    def _ended(self, stack_id: str) -> bool:
        now = self.stacks.get_stack(stack_id)
        return now is None or now["status"] != st.IN_PROGRESS or (
            now.get("engine_id") in (None, self.engine_id))

    # -- the running engine --------------------------------------------------------------------
    def _notified(self, stack_id: str) -> None:
        if self.runner.runtime(stack_id) is not None:
            self._wake.set()

    def _run(self) -> None:
        if self.lane is not None:
            use_lane(self.lane)
        while not self._stop.is_set():
            self._wake.wait(self._interval)
            self._wake.clear()
            if self._stop.is_set():
                return
            try:
                self.act_on_pending()
            except Exception:  # the database is away: the next look retries
                log.exception("looking for relayed stack requests failed")

    def act_on_pending(self, stack_ids: list[str] | None = None) -> int:
        """Act on the requests for stacks this engine runs (or those of `stack_ids` among
        them), oldest first; how many."""
        with self._acting:
            return self._act_on_pending(stack_ids)

    def _act_on_pending(self, stack_ids: list[str] | None) -> int:
        running = self.runner.running()
        if stack_ids is not None:
            running = [i for i in running if i in stack_ids]
        done = 0
        for row in self.requests.pending(running) + self._stranded(running):
            if self.requests.take(row["id"], self.engine_id, row["taken_by"]):
                answer: dict[str, Any] = {}
                try:
                    self._act(row)
                except Exception as exc:
                    if not isinstance(exc, ServiceError):
                        log.exception("stack %s: relayed %s failed", row["stack_id"], row["kind"])
                    answer = {"error": _error(exc)}
                self.requests.answer(row["id"], answer)
                done += 1
        return done

    def _stranded(self, running: list[str]) -> list[dict]:
        """Requests an engine took and died before answering (their stack was taken over
        here): acted on again, since whatever that engine did died with it."""
        if self._alive is None or not running:
            return []
        return [row for row in self.requests.unanswered(running, self.engine_id)
                if self._alive(row["taken_by"]) is False]

    def _act(self, row: dict) -> None:
        stack = self.stacks.get_stack(row["stack_id"])
        if stack is not None:
            self._act_on(stack, row["kind"], row["body"])
