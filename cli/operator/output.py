"""Output as the openstack client (cliff) prints it, for every command.

Two shapes, as cliff has: a *record* (one object, shown as Field/Value rows) and a *listing*
(rows with the same columns). Options, all cliff's: `-f table|json|yaml|value|csv`, `-c COLUMN`
(repeatable; `stack_name` and `"Stack Name"` both work), `--noindent` (json), `--max-width N` and
`--fit-width` (table: wrap cells to fit), `--sort-column COLUMN` and `--sort-ascending|
--sort-descending` (listings), `--quote` (csv). Listing headers are Title Case ("Stack Name",
"ID") in tables and csv; json and yaml keep the API's field names, so scripts read the same keys
the API gives (docs/cli.md says why). Formatting is pure: it returns text; commands print it.
"""
from __future__ import annotations

import csv
import io
import json
import os
import shutil
import textwrap
from dataclasses import dataclass

import yaml

FORMATS = ("table", "json", "yaml", "value", "csv")
QUOTING = {"all": csv.QUOTE_ALL, "minimal": csv.QUOTE_MINIMAL, "none": csv.QUOTE_NONE,
           "nonnumeric": csv.QUOTE_NONNUMERIC}
# words a header spells in capitals, as the openstack client does ("ID", "Stack Name")
UPPER = {"id": "ID", "url": "URL", "uuid": "UUID", "ip": "IP", "api": "API"}
MIN_COLUMN = 8      # --max-width never squeezes a column below this


@dataclass(frozen=True)
class Options:
    fmt: str = "table"
    columns: tuple[str, ...] = ()
    noindent: bool = False
    max_width: int = 0
    sort_columns: tuple[str, ...] = ()
    sort_descending: bool = False
    quote: str = "nonnumeric"

    @classmethod
    def from_args(cls, args) -> "Options":
        max_width = getattr(args, "max_width", None)
        if max_width is None:
            max_width = _env_int("CLIFF_MAX_TERM_WIDTH")
        fit = getattr(args, "fit_width", False) or os.environ.get("CLIFF_FIT_WIDTH") == "1"
        if fit and not max_width:
            max_width = shutil.get_terminal_size((80, 24)).columns
        return cls(fmt=getattr(args, "format", None) or "table",
                   columns=tuple(getattr(args, "columns", None) or ()),
                   noindent=bool(getattr(args, "noindent", False)), max_width=max_width or 0,
                   sort_columns=tuple(getattr(args, "sort_columns", None) or ()),
                   sort_descending=bool(getattr(args, "sort_descending", False)),
                   quote=getattr(args, "quote", None) or "nonnumeric")


def _env_int(name: str) -> int:
    try:
        return max(int(os.environ.get(name, "0")), 0)
    except ValueError:
        return 0


def header(key: str) -> str:
    """`stack_name` -> `Stack Name`, `id` -> `ID`."""
    return " ".join(UPPER.get(w, w.capitalize()) for w in key.split("_"))


def _norm(name: str) -> str:
    return "_".join(name.strip().lower().replace("-", " ").replace("_", " ").split())


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True)
    if isinstance(value, bool):
        return "True" if value else "False"
    return str(value)


def _pick(columns: list[str], wanted) -> list[str]:
    if not wanted:
        return columns
    by_name = {}
    for column in columns:
        by_name.setdefault(_norm(column), column)
        by_name.setdefault(_norm(header(column)), column)
    picked = []
    for name in wanted:
        found = by_name.get(_norm(name))
        if found is None:
            from cli.operator.errors import USAGE, CliError
            raise CliError(f"-c {name}: no such column; choose from "
                           f"{', '.join(header(c) for c in columns)}", USAGE)
        picked.append(found)
    return picked


def _sorted(rows: list[dict], keys: list[str], opts: Options, columns: list[str]) -> list[dict]:
    if not opts.sort_columns:
        return rows
    order = _pick(columns, [c.split(":")[0] for c in opts.sort_columns])

    def key(row):
        return tuple(_sort_key(row.get(k)) for k in order)
    return sorted(rows, key=key, reverse=opts.sort_descending)


def _sort_key(value):
    if value is None:
        return (0, 0, "")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return (1, value, "")
    return (2, 0, _cell(value))


def _wrap_widths(widths: list[int], max_width: int) -> list[int]:
    """Widths that fit `max_width` (borders included): columns narrower than an even share keep
    theirs; the wider ones share what is left (as cliff divides it), never below MIN_COLUMN."""
    available = max_width - (3 * len(widths) + 1)
    if sum(widths) <= available:
        return list(widths)
    wide = list(range(len(widths)))
    while wide:
        share = available // len(wide)
        narrow = [i for i in wide if widths[i] <= share]
        if not narrow:
            break
        for i in narrow:
            available -= widths[i]
            wide.remove(i)
    fitted = list(widths)
    for rank, i in enumerate(wide):
        extra = 1 if rank < available % len(wide) else 0
        fitted[i] = max(available // len(wide) + extra, MIN_COLUMN)
    return fitted


def _table(headers: list[str], rows: list[list[str]], max_width: int = 0) -> str:
    # cells may span lines (a config's script); every line of a row lines up with its column
    split = [[cell.splitlines() or [""] for cell in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in split:
        for index, lines in enumerate(row):
            widths[index] = max([widths[index]] + [len(line) for line in lines])
    if max_width:
        fitted = _wrap_widths(widths, max_width)
        if fitted != widths:
            widths = fitted
            split = [[_wrapped(lines, w) for lines, w in zip(row, widths)] for row in split]
            headers = [h[:w] for h, w in zip(headers, widths)]
    rule = "+" + "+".join("-" * (w + 2) for w in widths) + "+"

    def line(cells):
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths)) + " |"

    out = [rule, line(headers), rule]
    for row in split:
        height = max(len(lines) for lines in row)
        for i in range(height):
            out.append(line([lines[i] if i < len(lines) else "" for lines in row]))
    out.append(rule)
    return "\n".join(out)


def _wrapped(lines: list[str], width: int) -> list[str]:
    out = []
    for line in lines:
        out.extend(textwrap.wrap(line, width, break_long_words=True, break_on_hyphens=False,
                                 replace_whitespace=False, drop_whitespace=False) or [""])
    return out


def _csv(headers: list[str], rows: list[list], quote: str) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=QUOTING[quote], lineterminator="\n",
                        escapechar="\\" if quote == "none" else None)
    writer.writerow(headers)
    for row in rows:
        writer.writerow(row)
    return buffer.getvalue().rstrip("\n")


def _csv_value(value):
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value   # unquoted under `nonnumeric`, as cliff writes numbers
    return _cell(value)


def format_data(data, fmt: str, noindent: bool = False) -> str:
    """Any JSON-able value, as json or yaml."""
    if fmt == "json":
        return json.dumps(data, indent=None if noindent else 2, sort_keys=False)
    return yaml.safe_dump(data, sort_keys=False, default_flow_style=False).rstrip("\n")


def format_record(record: dict, fmt: str = "table", columns=None,
                  opts: Options | None = None) -> str:
    opts = opts or Options(fmt=fmt, columns=tuple(columns or ()))
    keys = _pick(list(record), opts.columns)
    if opts.fmt in ("json", "yaml"):
        return format_data({k: record[k] for k in keys}, opts.fmt, opts.noindent)
    if opts.fmt == "value":
        return "\n".join(_cell(record[k]) for k in keys)
    if opts.fmt == "csv":
        return _csv(["Field", "Value"], [[k, _csv_value(record[k])] for k in keys], opts.quote)
    return _table(["Field", "Value"], [[k, _cell(record[k])] for k in keys], opts.max_width)


def format_listing(rows: list[dict], columns: list[str], fmt: str = "table", wanted=None,
                   opts: Options | None = None) -> str:
    opts = opts or Options(fmt=fmt, columns=tuple(wanted or ()))
    keys = _pick(columns, opts.columns)
    rows = _sorted(rows, keys, opts, columns)
    if opts.fmt in ("json", "yaml"):
        return format_data([{k: row.get(k) for k in keys} for row in rows], opts.fmt,
                           opts.noindent)
    if opts.fmt == "value":
        return "\n".join(" ".join(_cell(row.get(k)) for k in keys) for row in rows)
    if opts.fmt == "csv":
        return _csv([header(k) for k in keys],
                    [[_csv_value(row.get(k)) for k in keys] for row in rows], opts.quote)
    return _table([header(k) for k in keys], [[_cell(row.get(k)) for k in keys] for row in rows],
                  opts.max_width)


def show_record(record: dict, args) -> str:
    """A record with every output option the command line gave."""
    return format_record(record, opts=Options.from_args(args))


def show_listing(rows: list[dict], columns: list[str], args) -> str:
    return format_listing(rows, columns, opts=Options.from_args(args))


def format_text(text: str, fmt: str = "table") -> str:
    """A bare value (e.g. `config show --config-only`): json/yaml quote it, others print it."""
    if fmt in ("json", "yaml"):
        return format_data(text, fmt)
    return text
