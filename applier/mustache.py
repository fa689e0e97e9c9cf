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


_DEFAULT_RE: tuple[str, re.Pattern] | None = None  # compiled on first use: few templates need it


def _line_of(text: str, index: int) -> int:
    return text.count("\n", 0, index) + 1


def parse(text: str) -> Template:
    """The template's node tree; MustacheError (with the line) when it cannot be parsed."""
    if _DELIMITER_CHANGE.search(text) is None:
        nodes = _parse_default(text)
        if nodes is not None:
            return Template(nodes)
    return _parse_general(text)


# Most templates never change delimiters, are well formed and are parsed once per run: for them one
# re.split does the scanning in C and the loop below only sorts the pieces (about 2.5x faster than
# the general parser). Anything else -- a set-delimiter tag, a mismatched or unclosed section (to
# report the error or warning with its line) -- goes through the general parser, which is the
# reference: tests check that both give the same nodes.
_DELIMITER_CHANGE = re.compile(r"\{\{\s*=")
# The default tag regex without its set-delimiter branch (it cannot match here), where a name is
# first tried as "no '}', no whitespace at either end" with greedy repeats: that finds the same
# name as the lazy `[\s\S]+?` (the shortest one followed by `\s*}}`) whenever that name has no '}',
# without retrying the tail after every character; names with a '}' fall through to the lazy
# form, as before.
_DEFAULT_SPLIT = re.compile(
    r"\{\{\s*(?:\{\s*([^}\s](?:[^}\n]*[^}\s])?|.+?)\s*\}"
    r"|([!>&/#^]?)\s*([^}\s](?:[^}]*[^}\s])?|[\s\S]+?))\s*\}\}")


def _parse_default(text: str) -> list | None:
    pieces = _DEFAULT_SPLIT.split(text)
    variable = _VARIABLES.get
    nodes: list = []
    append = nodes.append
    open_sections: list[tuple[str, str, list]] = []
    before = pieces[0]     # the text before the current tag, as in the template
    consumed = 0           # newline characters at its start taken by a standalone tag before it
    last = (len(pieces) - 1) // 4
    tags = iter(pieces)
    next(tags)
    # Per tag: its 3 groups (a {{{raw}}} name; or the sigil, None for a raw tag, and the name), then
    # the text after it.
    for number, (raw_name, kind, name, after) in enumerate(zip(tags, tags, tags, tags), 1):
        if not kind or kind == "&":
            if consumed:
                if len(before) > consumed:
                    append(before[consumed:])
                consumed = 0
            elif before:
                append(before)
            if raw_name is not None:
                name = raw_name
            append(variable(name) or _variable(name))
            before = after
            continue
        own = before[consumed:] if consumed else before
        kept = own.rstrip(" \t")
        # Standalone: only spaces/tabs between the line start (or the text start) and the tag, and
        # a line end (or the text end) right after it.
        if kept:
            line_start = kept[-1] in "\r\n"
        else:
            line_start = consumed > 0 or number == 1
        if line_start and (after[:1] in ("\r", "\n") or (after == "" and number == last)):
            if kept:
                append(kept)
            consumed = 1 if after[:1] == "\r" else 0
            if after[consumed:consumed + 1] == "\n":
                consumed += 1
        else:
            if own:
                append(own)
            consumed = 0
        before = after
        if kind == "#" or kind == "^":
            open_sections.append((kind, name, nodes))
            nodes = []
            append = nodes.append
        elif kind == "/":
            if not open_sections or open_sections[-1][1] != name:
                return None
            section_kind, section_name, parent = open_sections.pop()
            parent.append((section_kind, section_name, _parts(section_name), nodes))
            nodes = parent
            append = nodes.append
        # "!" comments and ">" partials produce nothing.
    if open_sections:
        return None
    if len(before) > consumed:
        append(before[consumed:] if consumed else before)
    return nodes


def _parse_general(text: str) -> Template:
    global _DEFAULT_RE
    if _DEFAULT_RE is None:
        _DEFAULT_RE = _tag_re("{{", "}}")
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


_PARTS: dict[str, tuple[str, tuple[str, ...]] | None] = {".": None}
_VARIABLES: dict[str, tuple] = {}  # name -> its ("v", name, parts) node; nodes are never changed


def _variable(name: str) -> tuple:
    node = _VARIABLES[name] = ("v", name, _parts(name))
    return node


def _parts(name: str) -> tuple[str, tuple[str, ...]] | None:
    """The dotted name split once at parse time, as (first part, the other parts); None for "."
    (the current item)."""
    parts = _PARTS.get(name, False)
    if parts is False:
        first, *rest = name.split(".")
        parts = _PARTS[name] = (first, tuple(rest))
    return parts


def _lookup(parts: tuple[str, tuple[str, ...]] | None, stack: list):
    if parts is None:
        return stack[-1]
    first, rest = parts
    for item in reversed(stack):
        if item.__class__ is dict and first in item:
            value = item[first]
            break
    else:
        return _MISSING
    for part in rest:
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
    top = stack[-1]
    top_is_dict = top.__class__ is dict
    for node in nodes:
        if node.__class__ is str:
            append(node)
            continue
        parts = node[2]
        # _lookup, inlined for the common case (the first part found in the innermost context):
        # this loop runs once per tag of every template.
        if parts is None:
            value = top
        elif top_is_dict and parts[0] in top:
            value = top[parts[0]]
            for part in parts[1]:
                if value.__class__ is dict and part in value:
                    value = value[part]
                else:
                    value = _MISSING
                    break
        else:
            value = _lookup(parts, stack)
        kind = node[0]
        if kind == "v":
            cls = value.__class__
            if cls is str:
                append(value)
            elif cls is int:  # not bool: its class is bool
                append(int.__repr__(value))
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
