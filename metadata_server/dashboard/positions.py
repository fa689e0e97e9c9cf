"""Where an engine error points in the uploaded text: `file:line:column: ...` -> the lines around it.

The engine names raw YAML positions as "<file>:<line>:<column>"; the dashboard uploads the
template as the text it was given, so those numbers are the user's own file's lines. A few
errors name only the path inside the template ("resources.web.type: ..."); that path is looked
up in the uploaded text with the engine's own loader.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from metadata_server.engine.template.errors import TemplateError
from metadata_server.engine.template.loader import load_document

POSITION = re.compile(r"^(?P<file>[^\s:]+):(?P<line>\d+)(?::(?P<column>\d+))?:")
PATH = re.compile(r"^(?P<path>(?:resources|parameters|outputs|conditions|parameter_groups)"
                  r"(?:\.[^\s.:\[\]]+|\[\d+\])*): ")
PART = re.compile(r"\.([^\s.:\[\]]+)|\[(\d+)\]")
CONTEXT = 3   # lines shown either side of the offending one


@dataclass(frozen=True)
class Excerpt:
    source: str            # "template" or "environment"
    line: int
    column: int | None
    lines: list[tuple[int, str, bool]]   # (number, text, is the offending line)


def locate(message: str, texts: dict[str, str]) -> Excerpt | None:
    """The excerpt of the text the message points into, or None when it names no line."""
    found = POSITION.match(message)
    if found is None:
        return _by_path(message, texts.get("template"))
    source = "environment" if found["file"] == "environment" else "template"
    column = int(found["column"]) if found["column"] else None
    return _excerpt(source, texts.get(source), int(found["line"]), column)


def _by_path(message: str, text: str | None) -> Excerpt | None:
    found = PATH.match(message)
    if found is None or not text:
        return None
    path = tuple(int(index) if index else name
                 for name, index in PART.findall("." + found["path"]))
    try:
        _, positions = load_document(text, "template")
    except TemplateError:
        return None
    line, column = positions.locate(path, key=True)
    return _excerpt("template", text, line, column) if line else None


def _excerpt(source: str, text: str | None, line: int, column: int | None) -> Excerpt | None:
    if not text:
        return None
    lines = text.splitlines()
    if line == len(lines) + 1:
        lines.append("")   # YAML reports an unclosed bracket just past the last line
    if not 1 <= line <= len(lines):
        return None
    first, last = max(1, line - CONTEXT), min(len(lines), line + CONTEXT)
    shown = [(n, lines[n - 1], n == line) for n in range(first, last + 1)]
    return Excerpt(source, line, column, shown)
