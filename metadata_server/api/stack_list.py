"""GET /stacks: Heat's list parameters over a tenant's stacks (newest first from the engine):
the filters (status, action, name, id), tags (tags, tags_any, not_tags, not_tags_any: each a
comma-separated list), sort_keys / sort_dir, and marker / limit paging. A tenant's stacks are
bounded (max_stacks_per_tenant), so this works on the listed rows."""
from __future__ import annotations

from datetime import datetime

from metadata_server.service.errors import InvalidInput
from metadata_server.service.query_args import count_arg

# Heat's sort keys -> the row's field
SORT_KEYS = {"stack_name": "name", "stack_status": "status", "creation_time": "created_at",
             "updated_time": "updated_at"}
_EPOCH = datetime(1970, 1, 1)


def _tags(args, key: str) -> set[str] | None:
    values = [t for value in args.getlist(key) for t in value.split(",") if t]
    return set(values) if values else None


def _filtered(rows: list[dict], args) -> list[dict]:
    for key in ("status", "action", "name", "id"):
        wanted = args.getlist(key)
        if wanted:
            column = {"status": lambda r: f"{r['action']}_{r['status']}" if "_" in wanted[0]
                      else r["status"]}.get(key, lambda r, k=key: r[k])
            rows = [r for r in rows if column(r) in wanted]
    tests = {"tags": lambda want, have: want <= have,
             "tags_any": lambda want, have: bool(want & have),
             "not_tags": lambda want, have: not want <= have,
             "not_tags_any": lambda want, have: not want & have}
    for key, test in tests.items():
        want = _tags(args, key)
        if want is not None:
            rows = [r for r in rows if test(want, set(r.get("tags") or ()))]
    return rows


def _sorted(rows: list[dict], args) -> list[dict]:
    keys = [k for value in args.getlist("sort_keys") for k in value.split(",") if k]
    unknown = [k for k in keys if k not in SORT_KEYS]
    if unknown:
        raise InvalidInput(f"sort_keys: {unknown[0][:60]!r} is not a sort key of stacks; one of "
                           f"{', '.join(SORT_KEYS)}")
    direction = args.get("sort_dir", "desc")
    if direction not in ("asc", "desc"):
        raise InvalidInput(f"sort_dir: must be asc or desc, got {direction[:40]!r}")
    if not keys and direction == "desc":
        return rows   # the engine's order: newest first, as Heat's default
    keys = keys or ["creation_time"]

    def key(row: dict) -> tuple:
        values = [row[SORT_KEYS[k]] for k in keys]
        return tuple(_EPOCH if v is None and k.endswith("time") else "" if v is None else v
                     for k, v in zip(keys, values)) + (row["id"],)
    return sorted(rows, key=key, reverse=direction == "desc")


def _paged(rows: list[dict], args) -> list[dict]:
    marker = args.get("marker")
    if marker:
        at = next((i for i, r in enumerate(rows) if r["id"] == marker), None)
        if at is not None:
            rows = rows[at + 1:]
    count = count_arg("limit", args.get("limit"))
    return rows if count is None else rows[:count]


def select_stacks(rows: list[dict], args) -> list[dict]:
    return _paged(_sorted(_filtered(rows, args), args), args)
