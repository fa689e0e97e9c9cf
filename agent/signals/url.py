"""Sending a result as JSON over HTTP, shared by the URL-based transports (cfn, temp_url, heat, zaqar).

As heat-config-notify, the body is trimmed to 950000 characters by dropping the beginning of
deploy_stdout/deploy_stderr. Unlike it, the answer is checked: 2xx is delivered, connection errors,
408, 429 and 5xx are retried a few times here (POST included) and then left to the outbox, other
statuses are refused for good, on stoker_common/retry.py's schedule. A `Retry-After` on a retried
answer is honoured: the next try here
waits at least that long, or, past IN_CALL_WAIT, is left to the outbox, which waits at least as
long (stoker_common/retry_after.py caps it). Every request carries `X-Stoker-Attempt` (the result's
attempt id): stoker's server uses it to recognise a resend of a result it already has; Heat and
Swift ignore it.
"""
from __future__ import annotations

import json
import logging
import time
from typing import Any, Callable

from agent.deployment import input_values
from agent.signals.base import SignalError
from collector.http_source import server_message
from stoker_common.http_client import HttpClient, Response, TransportError
from stoker_common.http_errors import redact_url
from stoker_common.retry import RetryPolicy
from stoker_common.retry_after import retry_after

log = logging.getLogger(__name__)

MAX_BODY_CHARS = 950000
TRIMMED_FIELDS = ("deploy_stdout", "deploy_stderr")
# Statuses worth asking again: the server or a proxy may recover.
RETRYABLE_STATUS = frozenset({408, 429, 500, 502, 503, 504})
# The longest Retry-After waited out inside one send; a longer one is left to the outbox, so the
# agent's loop is not held up.
IN_CALL_WAIT = 5.0


def trimmed_body(payload: dict[str, Any], limit: int = MAX_BODY_CHARS) -> str:
    """JSON of `payload`, its stdout/stderr cut from the start, in proportion, to fit `limit`."""
    payload = dict(payload)
    body = json.dumps(payload)
    while len(body) > limit:
        sizes = {k: len(json.dumps(payload[k])) - 2 for k in TRIMMED_FIELDS if isinstance(payload.get(k), str) and payload[k]}
        total = sum(sizes.values())
        if not total:
            break  # nothing left to trim; the server will say whether it takes the rest
        excess = len(body) - limit
        for key, size in sizes.items():
            # Each character removed shortens the JSON by at least one character (escapes by more),
            # so one pass normally suffices; the loop covers rounding.
            cut = -(-excess * size // total)
            payload[key] = payload[key][cut:]
        body = json.dumps(payload)
    return body


ATTEMPT_HEADER = "X-Stoker-Attempt"


def request_json(http: HttpClient, verb: str, url: str, body: bytes, headers: dict[str, str],
                 attempts: int, backoff: float, timeout: float, sleep: Callable[[float], None],
                 shown_url: str | None = None, clock: Callable[[], float] = time.time) -> Response:
    """Send `body` until a 2xx answer (returned) or a final error (SignalError raised)."""
    where = f"{verb} {shown_url or redact_url(url)}"
    error = SignalError(where + ": not attempted")
    headers = {"Content-Type": "application/json", **headers}
    policy = RetryPolicy(backoff)
    for attempt in range(max(1, attempts)):
        if attempt:
            sleep(policy.delay(attempt, error.retry_after))
        try:
            resp = http.request(verb, url, headers, body, timeout)
        except TransportError as exc:
            error = SignalError(f"{where}: {exc.reason}", retryable=True)
            continue
        if resp.ok:
            log.debug("%s answered %s: %s", where, resp.status, resp.text[:500])
            return resp
        retryable = resp.status in RETRYABLE_STATUS
        wait = retry_after(resp.headers, clock()) if retryable else None
        asked = f" (Retry-After: {wait:g}s)" if wait is not None else ""
        error = SignalError(f"{where} answered {resp.status} {resp.reason}{server_message(resp)}{asked}",
                            retryable, retry_after=wait, status=resp.status)
        if not retryable or (wait is not None and wait > IN_CALL_WAIT):
            break
    raise error


class UrlTransport:
    """POST (or PUT when `deploy_signal_verb` is PUT) to the item's `deploy_signal_id`."""

    name = "CFN_SIGNAL"

    def __init__(self, http: HttpClient | None = None, attempts: int = 3, backoff: float = 0.5,
                 timeout: float = 10.0, sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.time):
        self.http = http or HttpClient()
        self.attempts = max(1, attempts)
        self.backoff = backoff
        self.timeout = timeout
        self.sleep = sleep
        self.clock = clock

    def verb(self, values: dict[str, Any]) -> str:
        return "PUT" if values.get("deploy_signal_verb") == "PUT" else "POST"

    def send(self, item: dict, payload: dict[str, Any], attempt: str | None = None) -> None:
        values = input_values(item)
        url = values.get("deploy_signal_id")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise SignalError("deploy_signal_id is not an http(s) URL", retryable=False)
        headers = {ATTEMPT_HEADER: attempt} if attempt else {}
        request_json(self.http, self.verb(values), url, trimmed_body(payload).encode("ascii"), headers,
                     self.attempts, self.backoff, self.timeout, self.sleep, clock=self.clock)

