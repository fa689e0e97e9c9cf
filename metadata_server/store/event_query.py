"""What an event list asks for (Heat's event list parameters), and its answer over rows already in
memory (the engine's in-memory store); store/events.py answers it in SQL. No SQLAlchemy here."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

Row = dict[str, Any]

# Heat's filter names -> the fields they match (`resource_status` is the status alone, as events
# keep action and status apart)
FILTER_FIELDS = {"resource_action": "action", "resource_status": "status",
                 "resource_name": "resource_name", "resource_type": "resource_type"}
# Heat's sort keys for events; a missing value (a resource type) sorts as the empty string, so
# that a marker on such an event still has a value to page from
SORT_FIELDS = {"event_time": "created_at", "resource_type": "resource_type"}


@dataclass(frozen=True)
class EventQuery:
    """Filter name -> accepted values; the id of the event to continue after (one this stack
    has and the filters keep; otherwise the list starts at its beginning); how many at most;
    the order (insertion order, `seq`, breaks ties). `nested`: other stacks whose events are
    listed with the stack's (its nested stacks, for nested_depth); `event_id`: that one only."""
    filters: dict[str, tuple[str, ...]] = field(default_factory=dict)
    nested: tuple[str, ...] = ()
    event_id: str | None = None
    marker: str | None = None
    limit: int | None = None
    sort_keys: tuple[str, ...] = ()
    descending: bool = False


def page_of(rows: list[Row], query: EventQuery) -> list[Row]:
    """What the SQL query answers, from the rows of the stack and its `nested` stacks (or of
    one resource)."""
    rows = [row for row in rows if all(row[FILTER_FIELDS[name]] in values
                                       for name, values in query.filters.items())
            and query.event_id in (None, row["id"])]
    rows.sort(key=lambda row: tuple(_sortable(row[SORT_FIELDS[name]])
                                    for name in query.sort_keys) + (row["seq"],),
              reverse=query.descending)
    at = next((i for i, row in enumerate(rows) if row["id"] == query.marker), None)
    if query.marker and at is not None:
        rows = rows[at + 1:]
    return rows if query.limit is None else rows[:query.limit]


def _sortable(value):
    return "" if value is None else value
