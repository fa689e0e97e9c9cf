"""Sending a template request so that what goes wrong points at the operator's own file.

Every request that carries a template (create, update, preview, validate) goes through `send`:
an error the server gives is relocated into the operator's files (sources.py), and an unknown
resource type gets the closest registered type as a suggestion. `warn` asks the server's
template-validate for the engine's warnings (a misspelt `get_parm` is kept as literal data, as
Heat does, and would otherwise pass without a word), prints them, and with `--strict` fails.
"""
from __future__ import annotations

import difflib
import re
import sys

from cli.operator.client import Client
from cli.operator.errors import FAILED, CliError
from cli.operator.sources import Sources

class StrictRefusal(CliError):
    """Warnings under --strict: never waved through, whatever else is tolerated."""


UNKNOWN_TYPE = re.compile(r"The Resource Type \((?P<type>[^)]+)\) could not be found")


def send(client: Client, sources: Sources, method: str, path: str, body: dict, **kw):
    try:
        return client.call(method, path, json=body, **kw)
    except CliError as exc:
        raise CliError(explained(client, sources, exc.message), exc.code) from None


def explained(client: Client, sources: Sources, message: str) -> str:
    message = sources.relocate(message)
    unknown = UNKNOWN_TYPE.search(message)
    if unknown:
        message = message.rstrip(".") + suggestion(client, unknown.group("type"))
    return message


def suggestion(client: Client, wanted: str) -> str:
    try:
        types = client.get("resource_types").get("resource_types") or []
    except CliError:
        return ""   # the suggestion is a courtesy; the error itself is what matters
    names = [t if isinstance(t, str) else t.get("resource_type", "") for t in types]
    close = difflib.get_close_matches(wanted, names, n=1, cutoff=0.6)
    if close:
        return f'; did you mean "{close[0]}"?'
    return "; `stoker resource type list` shows the types this server knows"


def warn(client: Client, sources: Sources, body: dict, strict: bool, stream=None) -> None:
    """Print the engine's warnings for `body` (a validate request body) to stderr; with
    `strict`, any warning is an error (exit 1). Errors of the validate itself are raised."""
    result = send(client, sources, "POST", "validate", _validate_body(body)) or {}
    report(result, sources, strict, stream)


def report(result: dict, sources: Sources, strict: bool, stream=None) -> None:
    """Take the warnings out of a validate `result` and print them, relocated."""
    stream = stream or sys.stderr
    warnings = [sources.relocate(str(w)) for w in result.pop("Warnings", None) or []]
    for text in warnings:
        print(f"stoker: warning: {text}", file=stream)
    if strict and warnings:
        count = f"{len(warnings)} warning{'s' if len(warnings) > 1 else ''}"
        raise StrictRefusal(f"{count} with --strict; fix the template or drop --strict", FAILED)


def _validate_body(body: dict) -> dict:
    keys = ("template", "files", "environment", "environment_files", "parameters")
    return {k: body[k] for k in keys if k in body}
