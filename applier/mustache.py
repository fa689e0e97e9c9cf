"""Mustache templates rendered the way os-apply-config renders them.

os-apply-config feeds pystache a renderer that never escapes, prints strings as they are, other
values as JSON (so `true`, `[1, "x"]`, `{"k": "v"}`) and nothing for null or a missing name.
Existing template trees depend on those details, and on pystache's parser: a tag line that holds
only a section, comment, partial or delimiter tag disappears with its newline; a section left open
renders only what follows its opening tag. This module reproduces that behaviour without the
dependency (tests compare it with upstream's renderer on a corpus and on generated templates).
Partials render empty: os-apply-config never configures a partial loader.
"""
from __future__ import annotations

import json
import re

_MISSING = ""  # what a name that cannot be resolved evaluates to (pystache's "ignore" mode)


class MustacheError(ValueError):
    """A template that cannot be parsed; `line` is 1-based."""

    def __init__(self, message: str, line: int):
        super().__init__(f"line {line}: {message}")
        self.line = line


class Template:
    def __init__(self, nodes: list, warnings: list[str] | None = None):
        self.nodes = nodes
        self.warnings = warnings or []

    def render(self, context: dict) -> str:
        out: list[str] = []
        _render(self.nodes, [context], out)
        return "".join(out)


def render(text: str, context: dict) -> str:
    return parse(text).render(context)


# Node shapes (tuples keep rendering cheap): ("v", name, parts) variable, ("#", name, parts,
# children) section, ("^", name, parts, children) inverted section. Literal text is a plain str.
# JSON data only holds dict, list, str, int, float, bool and None, hence the exact class tests.

def _tag_re(open_tag: str, close_tag: str) -> tuple[str, re.Pattern]:
    """The opening delimiter, and the rest of a tag as pystache's parser reads it.

    pystache scans with one regex: optional spaces/tabs, the opening delimiter, then the tag. A
    delimiter never starts with a space, so that is the same as finding each opening delimiter
    with str.find, matching the rest right after it, and taking the spaces/tabs before it.
    """
    return open_tag, re.compile(
        r"\s*(?:(=)\s*(.+?)\s*=|(\{)\s*(.+?)\s*\}|([!>&/#^]?)\s*([\s\S]+?))\s*"
        + re.escape(close_tag))


_DEFAULT_RE = _tag_re("{{", "}}")


def _line_of(text: str, index: int) -> int:
    return text.count("\n", 0, index) + 1


def parse(text: str) -> Template:
    open_tag, rest = _DEFAULT_RE
    nodes: list = []
    # Each open section remembers (kind, name, position, the node list it belongs to).
    open_sections: list[tuple[str, str, int, list]] = []
    pos = 0
    size = len(text)
    find = text.find
    while True:
        at = find(open_tag, pos)
        m = None
        while at != -1:
            m = rest.match(text, at + len(open_tag))
            if m is not None:
                break
            at = find(open_tag, at + 1)
        if m is None:
            break
        change, delims, raw, raw_name, kind, name = m.groups()
        end = m.end()
        if raw is not None:
            kind, name = "&", raw_name
        if (kind == "" or kind == "&") and change is None:
            # A variable is never standalone: the text before it, indentation included, stays.
            if pos != at:
                nodes.append(text[pos:at])
            nodes.append(("v", name, _parts(name)))
            pos = end
            continue
        if change is not None:
            kind, name = "=", delims
        start = at
        while start > pos and text[start - 1] in " \t":
            start -= 1
        tag_start = start
        ws = text[start:at]
        if (start == 0 or text[start - 1] in "\r\n") \
                and (end == size or text[end] in "\r\n"):
            # A standalone tag takes its whole line with it, indentation and newline included.
            if end < size and text[end] == "\r":
                end += 1
            if end < size and text[end] == "\n":
                end += 1
        elif ws:
            start += len(ws)
        if pos != start:
            nodes.append(text[pos:start])
        pos = end

        if kind == "#" or kind == "^":
            open_sections.append((kind, name, tag_start, nodes))
            nodes = []
        elif kind == "/":
            expected = open_sections[-1][1] if open_sections else None
            if name != expected:
                wanted = "{{/%s}}" % expected if expected is not None else "no closing tag"
                raise MustacheError(f"Section end tag mismatch: found {{{{/{name}}}}}, expected {wanted}",
                                    _line_of(text, at))
            section_kind, section_name, _, parent = open_sections.pop()
            parent.append((section_kind, section_name, _parts(section_name), nodes))
            nodes = parent
        elif kind == "=":
            delimiters = name.split()
            if len(delimiters) < 2:
                raise MustacheError(f"bad delimiter change {{{{={name}=}}}}: expected two delimiters",
                                    _line_of(text, at))
            open_tag, rest = _tag_re(delimiters[0], delimiters[1])
    # "!" comments and ">" partials produce nothing.
    if pos != size:
        nodes.append(text[pos:])
    template = Template(nodes)
    if open_sections:
        kind, name, at, _ = open_sections[0]
        # pystache keeps only the innermost open section's contents; kept for compatibility.
        template.warnings.append(
            f"line {_line_of(text, at)}: section {{{{{kind}{name}}}}} is never closed; "
            "only the text after its innermost open section is rendered (as os-apply-config does)")
    return template


_PARTS: dict[str, tuple[str, ...] | None] = {".": None}


def _parts(name: str) -> tuple[str, ...] | None:
    """The dotted name split once at parse time; None for "." (the current item)."""
    parts = _PARTS.get(name, False)
    if parts is False:
        parts = _PARTS[name] = tuple(name.split("."))
    return parts


def _lookup(parts: tuple[str, ...] | None, stack: list):
    if parts is None:
        return stack[-1]
    first = parts[0]
    for item in reversed(stack):
        if item.__class__ is dict and first in item:
            value = item[first]
            break
    else:
        return _MISSING
    for part in parts[1:]:
        if value.__class__ is dict and part in value:
            value = value[part]
        else:
            return _MISSING
    return value


def _to_text(value) -> str:
    cls = value.__class__
    if cls is str:
        return value
    if value is None:
        return ""
    if cls is bool:
        return "true" if value else "false"
    if cls is int:
        return int.__repr__(value)
    return json.dumps(value)


def _render(nodes: list, stack: list, out: list) -> None:
    append = out.append
    for node in nodes:
        if node.__class__ is str:
            append(node)
            continue
        kind = node[0]
        value = _lookup(node[2], stack)
        if kind == "v":
            if value.__class__ is str:
                append(value)
            else:
                append(_to_text(value))
        elif kind == "#":
            if not value:
                continue
            items = value if value.__class__ is list else (value,)
            for item in items:
                stack.append(item)
                _render(node[3], stack, out)
                stack.pop()
        elif not value:  # "^"
            _render(node[3], stack, out)
