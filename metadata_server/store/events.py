"""A stack's events, filtered, sorted and paged in SQL (the EventQuery of event_query.py).

One statement answers a page: WHERE for the filters and for what comes after the marker, ORDER BY
the sort keys (the insertion order `seq` breaks ties, so every order is total), and LIMIT. The
indexes of migration 0005 serve the usual pages: (stack_id, seq) for a stack's list and
(stack_id, resource_name, seq) for one resource's.
"""
from __future__ import annotations

from sqlalchemy import and_, func, or_, select
from sqlalchemy.engine import Engine

from metadata_server.store.event_query import FILTER_FIELDS, SORT_FIELDS, EventQuery
from metadata_server.store.queries import Row
from metadata_server.store.stack_tables import stack_event

FILTERS = {name: stack_event.c[column] for name, column in FILTER_FIELDS.items()}
SORT_KEYS = {name: (func.coalesce(stack_event.c[column], "") if stack_event.c[column].nullable
                    else stack_event.c[column])
             for name, column in SORT_FIELDS.items()}


def list_events(engine: Engine, stack_id: str, resource_name: str | None = None,
                query: EventQuery = EventQuery()) -> list[Row]:
    where = [stack_event.c.stack_id.in_((stack_id, *query.nested)) if query.nested
             else stack_event.c.stack_id == stack_id]
    if query.event_id is not None:
        where.append(stack_event.c.id == query.event_id)
    if resource_name is not None:
        where.append(stack_event.c.resource_name == resource_name)
    where += [FILTERS[name].in_(values) for name, values in query.filters.items()]
    keys = [SORT_KEYS[name] for name in query.sort_keys] + [stack_event.c.seq]
    with engine.connect() as conn:
        if query.marker:
            marker = conn.execute(select(*keys).where(*where, stack_event.c.id == query.marker)
                                  ).first()
            if marker is not None:
                where.append(_beyond(keys, tuple(marker), query.descending))
        order = [key.desc() if query.descending else key.asc() for key in keys]
        stmt = select(stack_event).where(*where).order_by(*order)
        if query.limit is not None:
            stmt = stmt.limit(query.limit)
        return [dict(row) for row in conn.execute(stmt).mappings()]


def _beyond(keys: list, values: tuple, descending: bool):
    """Rows after `values` in the order of `keys` (keyset paging): the first key past the
    marker's, or equal to it and the next one past, and so on."""
    terms = []
    for i, key in enumerate(keys):
        past = key < values[i] if descending else key > values[i]
        terms.append(and_(*[keys[j] == values[j] for j in range(i)], past))
    return or_(*terms)
