"""`-f table|json|yaml|value` for every command, and `-c COLUMN` to pick fields.

Two shapes, as the openstack client has: a *record* (one object, shown as Field/Value rows) and
a *listing* (rows with the same columns). Formatting is pure: it returns text; commands print it.
"""
from __future__ import annotations

import json

import yaml

FORMATS = ("table", "json", "yaml", "value")


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True)
    if isinstance(value, bool):
        return "True" if value else "False"
    return str(value)


def _table(headers: list[str], rows: list[list[str]]) -> str:
    # cells may span lines (a config's script); every line of a row lines up with its column
    split = [[cell.splitlines() or [""] for cell in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in split:
        for index, lines in enumerate(row):
            widths[index] = max([widths[index]] + [len(line) for line in lines])
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


def _pick(columns: list[str], wanted: list[str] | None) -> list[str]:
    if not wanted:
        return columns
    unknown = [c for c in wanted if c not in columns]
    if unknown:
        from cli.operator.errors import CliError, USAGE
        raise CliError(f"-c {unknown[0]}: no such column; choose from {', '.join(columns)}", USAGE)
    return wanted


def format_data(data, fmt: str) -> str:
    """Any JSON-able value, as json or yaml."""
    return _dump(data, fmt)


def _dump(data, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(data, indent=2, sort_keys=False)
    return yaml.safe_dump(data, sort_keys=False, default_flow_style=False).rstrip("\n")


def format_record(record: dict, fmt: str = "table", columns: list[str] | None = None) -> str:
    keys = _pick(list(record), columns)
    if fmt in ("json", "yaml"):
        return _dump({k: record[k] for k in keys}, fmt)
    if fmt == "value":
        return "\n".join(_cell(record[k]) for k in keys)
    return _table(["Field", "Value"], [[k, _cell(record[k])] for k in keys])


def format_listing(rows: list[dict], columns: list[str], fmt: str = "table",
                   wanted: list[str] | None = None) -> str:
    keys = _pick(columns, wanted)
    if fmt in ("json", "yaml"):
        return _dump([{k: row.get(k) for k in keys} for row in rows], fmt)
    if fmt == "value":
        return "\n".join(" ".join(_cell(row.get(k)) for k in keys) for row in rows)
    return _table(keys, [[_cell(row.get(k)) for k in keys] for row in rows])


def format_text(text: str, fmt: str = "table") -> str:
    """A bare value (e.g. `config show --config-only`): json/yaml quote it, others print it."""
    if fmt in ("json", "yaml"):
        return _dump(text, fmt)
    return text
