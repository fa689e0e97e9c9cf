"""How long a server asks to be left alone: the `Retry-After` header (RFC 9110, section 10.2.3).

Either a number of seconds (`120`) or an HTTP date (`Wed, 21 Oct 2026 07:28:00 GMT`, and the
obsolete RFC 850 and asctime forms). A date is read against the answer's own `Date` header when it
has one, so a guest whose clock is still off at first boot waits what the server meant; only
without one against the agent's clock. A date in the past means now. The wait is capped at
MAX_RETRY_AFTER: a server, or anything between it and the agent, must not be able to park a
result for days; past the cap the agent's own backoff takes over again. Anything else is ignored.
"""
from __future__ import annotations

import re
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any

MAX_RETRY_AFTER = 600.0
SECONDS = re.compile(r"[0-9]+")  # str.isdigit() would take '²' and other non-ASCII digits


def retry_after(headers: Any, now: float, cap: float = MAX_RETRY_AFTER) -> float | None:
    """Seconds to wait before asking again, from the answer's headers; None when it does not say.
    `now` is the agent's clock (epoch seconds), used when the answer carries no usable Date."""
    value = (headers.get("Retry-After") or "").strip()
    if not value:
        return None
    if SECONDS.fullmatch(value):
        return min(float(value), cap)
    when = http_date(value)
    if when is None:
        return None
    sent = http_date((headers.get("Date") or "").strip())
    reference = sent.timestamp() if sent is not None else now
    return min(max(0.0, when.timestamp() - reference), cap)


def http_date(value: str) -> datetime | None:
    """An HTTP date (any of its three forms) as an aware datetime; None when it is not one."""
    if not value:
        return None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):  # 3.9 raises TypeError on garbage
        return None
    if when.tzinfo is None:  # the asctime form (and -0000) carries no zone; HTTP dates are GMT
        when = when.replace(tzinfo=timezone.utc)
    return when
