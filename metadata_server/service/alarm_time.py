"""An alarm's `time_constraints`, as Aodh reads them: the alarm is evaluated only while now is
within one of them, i.e. between the latest time its `start` (a five-field cron expression, in
its `timezone`, UTC by default) matched and `duration` seconds after. No constraint: always.

Cron fields: minute, hour, day of month, month, day of week (0 or 7 is Sunday; names such as
jan or mon are read); each `*`, a number, a range `a-b`, a step `*/n` or `a-b/n`, or a list of
those. When both day fields are restricted, a day matching either counts (as cron does).
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from metadata_server.service.errors import InvalidInput

FIELDS = (("minute", 0, 59), ("hour", 0, 23), ("day of month", 1, 31), ("month", 1, 12),
          ("day of week", 0, 7))
NAMES = {3: {n: i + 1 for i, n in enumerate("jan feb mar apr may jun jul aug sep oct nov dec".split())},
         4: {n: i for i, n in enumerate("sun mon tue wed thu fri sat".split())}}
MAX_DAYS = 400   # how far back the latest start is looked for


def _field(text: str, index: int) -> tuple[frozenset[int], bool]:
    """The values a cron field allows, and whether it restricts anything."""
    name, low, high = FIELDS[index]
    values: set[int] = set()
    for part in text.lower().split(","):
        body, _, step_text = part.partition("/")
        step = int(step_text) if step_text.isdigit() and int(step_text) > 0 else None
        if step_text and step is None:
            raise InvalidInput(f"{name} {text!r}: the step must be a positive number")
        if body == "*":
            first, last = low, high
        else:
            ends = [NAMES.get(index, {}).get(e, e) for e in body.split("-", 1)]
            if not all(isinstance(e, int) or e.isdigit() for e in ends):
                raise InvalidInput(f"{name} {text!r}: not a number, range or *")
            first = int(ends[0])
            last = int(ends[-1]) if len(ends) == 2 else (high if step else first)
        if not low <= first <= last <= high:
            raise InvalidInput(f"{name} {text!r}: outside {low}-{high}")
        values.update(range(first, last + 1, step or 1))
    if index == 4 and 7 in values:
        values = (values - {7}) | {0}
    return frozenset(values), text != "*"


class Cron:
    def __init__(self, expression: str):
        parts = str(expression).split()
        if len(parts) != 5:
            raise InvalidInput(f"start {expression!r}: a cron expression has 5 fields "
                               "(minute hour day-of-month month day-of-week)")
        fields = [_field(p, i) for i, p in enumerate(parts)]
        (self.minutes, _), (self.hours, _), (self.days, self.days_set), (self.months, _), \
            (self.weekdays, self.weekdays_set) = fields

    def day_matches(self, day: datetime) -> bool:
        if day.month not in self.months:
            return False
        by_date = day.day in self.days
        by_weekday = (day.weekday() + 1) % 7 in self.weekdays
        if self.days_set and self.weekdays_set:
            return by_date or by_weekday
        return by_date and by_weekday

    def latest_start(self, now: datetime) -> datetime | None:
        """The latest minute at or before `now` the expression matches (in now's zone)."""
        for back in range(MAX_DAYS):
            day = now - timedelta(days=back)
            if not self.day_matches(day):
                continue
            for hour in sorted(self.hours, reverse=True):
                for minute in sorted(self.minutes, reverse=True):
                    start = day.replace(hour=hour, minute=minute, second=0, microsecond=0)
                    if start <= now:
                        return start
        return None


def _zone(name: str | None):
    if not name:
        return timezone.utc
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(f"timezone {name!r} is not known") from None


def check(constraints: list, where: str = "time_constraints") -> None:
    """Refuse what Aodh's API would refuse, naming the entry."""
    for index, constraint in enumerate(constraints or []):
        here = f"{where}[{index}]"
        if not isinstance(constraint, dict) or not {"name", "start", "duration"} <= set(constraint):
            raise InvalidInput(f"{here}: needs name, start and duration")
        try:
            Cron(constraint["start"])
            _zone(constraint.get("timezone"))
        except InvalidInput as exc:
            raise InvalidInput(f"{here}: {exc.message}") from None
        duration = constraint["duration"]
        if isinstance(duration, bool) or not isinstance(duration, int) or duration < 0:
            raise InvalidInput(f"{here}.duration: must be a whole number of seconds, at least 0")


def within(constraints: list, now: float) -> bool:
    """Whether an alarm with these constraints is evaluated at `now` (UNIX time)."""
    if not constraints:
        return True
    for constraint in constraints:
        local = datetime.fromtimestamp(now, _zone(constraint.get("timezone")))
        start = Cron(constraint["start"]).latest_start(local)
        if start is not None and start <= local <= start + timedelta(
                seconds=int(constraint["duration"])):
            return True
    return False
