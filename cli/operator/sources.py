"""Where each document the CLI sends came from, so the server's positions name the operator's file.

The CLI sends templates and environments as the openstack client does: parsed, with their file
references rewritten, as JSON (the template inline, environments and provider templates as JSON
text in `files`). The server's engine reports `NAME:LINE:COLUMN: path: message`, where LINE and
COLUMN point into that JSON: one line, the column an offset into `json.dumps(document)`.

So while it serialises a document, this module records, for every key and value, its offset in
the JSON and its line and column in the operator's YAML. A position the server gives is mapped to
the nearest token at or before it, and NAME becomes the path the operator typed. An error that
names only a path (`resources.web.type: ...`) gets the position of that path in the template.
"""
from __future__ import annotations

import bisect
import json
import os
import re
from dataclasses import dataclass, field
from typing import Any

import yaml

TEMPLATE = "template"   # the name the server gives the inline template in its messages


@dataclass
class Source:
    display: str                      # what the operator calls the file
    root: yaml.Node | None            # the composed document, for path lookups
    offsets: list[int] = field(default_factory=list)   # JSON offsets, ascending
    marks: list[tuple[int, int]] = field(default_factory=list)   # (line, column), 1-based

    def at_offset(self, offset: int) -> tuple[int, int] | None:
        index = bisect.bisect_right(self.offsets, offset) - 1
        return self.marks[index] if index >= 0 else None

    def at_path(self, path: str) -> tuple[int, int] | None:
        node = self.root
        for part in _split_path(path):
            if isinstance(node, yaml.MappingNode) and isinstance(part, str):
                node = next((v for k, v in reversed(node.value)
                             if isinstance(k, yaml.ScalarNode) and k.value == part), None)
            elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) \
                    and 0 <= part < len(node.value):
                node = node.value[part]
            else:
                return None
            if node is None:
                return None
        return _mark(node) if node is not None and node is not self.root else None


def _split_path(path: str) -> list:
    parts: list = []
    for piece in path.split("."):
        name, *indices = re.split(r"\[(\d+)\]", piece)
        if name:
            parts.append(name)
        parts.extend(int(i) for i in indices if i)
    return parts


def _mark(node: yaml.Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


def display_path(url_or_path: str) -> str:
    """A local file as the operator would type it (relative below the working directory)."""
    from urllib.parse import unquote, urlsplit
    parts = urlsplit(url_or_path)
    if parts.scheme not in ("file", ""):
        return url_or_path
    path = unquote(parts.path) if parts.scheme == "file" else url_or_path
    try:
        relative = os.path.relpath(path)
    except ValueError:
        return path
    return path if relative.startswith("..") else relative


class Sources:
    """The documents of one request, by the name the server will use for each."""

    def __init__(self) -> None:
        self.docs: dict[str, Source] = {}

    def add(self, name: str, display: str, root: yaml.Node | None, data: Any) -> str:
        """Record `data` (constructed from `root`, references rewritten) under `name`;
        returns `json.dumps(data)`, the text the server will read positions from."""
        source = Source(display, root)
        pieces: list[str] = []
        _emit(data, root, pieces, [0], source)
        text = "".join(pieces)
        if text != json.dumps(data):   # a value this writer does not mirror: keep no offsets
            source.offsets, source.marks = [], []
            text = json.dumps(data)
        self.docs[name] = source
        return text

    def relocate(self, message: str) -> str:
        """`message` with every position the server gave in these documents made the
        operator's own; a leading bare path gets the template's position."""
        if not self.docs:
            return message
        names = "|".join(re.escape(n) for n in sorted(self.docs, key=len, reverse=True))
        pattern = re.compile(rf"(?<![\w/])({names}):(\d+):(\d+)")

        def swap(match: re.Match) -> str:
            source = self.docs[match.group(1)]
            line, column = int(match.group(2)), int(match.group(3))
            mark = source.at_offset(column - 1) if line == 1 and source.offsets else None
            if mark is None:
                return f"{source.display}:{line}:{column}"
            return f"{source.display}:{mark[0]}:{mark[1]}"
        relocated, count = pattern.subn(swap, message)
        template = self.docs.get(TEMPLATE)
        if count == 0 and template is not None:
            head = re.match(r"([A-Za-z_][\w.\[\]:-]*): ", relocated)
            mark = template.at_path(head.group(1)) if head else None
            if mark is not None:
                relocated = f"{template.display}:{mark[0]}:{mark[1]}: {relocated}"
        return relocated


def _emit(value: Any, node: yaml.Node | None, out: list[str], offset: list[int],
          source: Source) -> None:
    """Append json.dumps(value) to `out` piece by piece, recording each token's origin."""
    def put(text: str, at: yaml.Node | None) -> None:
        if at is not None:
            source.offsets.append(offset[0])
            source.marks.append(_mark(at))
        out.append(text)
        offset[0] += len(text)

    if isinstance(value, dict):
        pairs = {}
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                if isinstance(key_node, yaml.ScalarNode):
                    pairs[key_node.value] = (key_node, value_node)
        put("{", node)
        for index, (key, item) in enumerate(value.items()):
            if index:
                put(", ", None)
            key_node, value_node = pairs.get(str(key), (None, None))
            put(json.dumps({key: None})[1:-len(": null}")], key_node)
            put(": ", None)
            _emit(item, value_node, out, offset, source)
        put("}", None)
    elif isinstance(value, list):
        items = node.value if isinstance(node, yaml.SequenceNode) else []
        put("[", node)
        for index, item in enumerate(value):
            if index:
                put(", ", None)
            _emit(item, items[index] if index < len(items) else None, out, offset, source)
        put("]", None)
    else:
        put(json.dumps(value), node)
