"""Time, injectable: the service asks a clock instead of reading the system time."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Callable

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    # naive UTC: what both SQLite and PostgreSQL DateTime columns round-trip unchanged
    return datetime.now(timezone.utc).replace(tzinfo=None)


def isotime(value: datetime | None) -> str | None:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if value is not None else None
