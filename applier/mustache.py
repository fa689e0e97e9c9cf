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

def _tag_pattern(open_tag: str, close_tag: str) -> re.Pattern:
    """A tag as pystache's parser reads it: the opening delimiter, then a set-delimiter (its groups:
    the new pair; else None), a {{{raw}}} name, or a sigil and a name, then the closing delimiter.

    pystache finds each opening delimiter and matches the rest of its tag regex right after it, else
    tries the next one: the same as this regex searched from the same position, and re.split does
    that scanning in C. With the default delimiters a name is first tried as "no '}', no whitespace
    at either end" with greedy repeats: that finds the same name as the lazy form (the shortest one
    followed by `\\s*}}`) whenever the name holds no '}', without retrying the tail after every
    character; names with a '}' fall through to the lazy form.
    """
    if (open_tag, close_tag) == ("{{", "}}"):
        raw, name = r"[^}\s](?:[^}\n]*[^}\s])?|.+?", r"[^}\s](?:[^}]*[^}\s])?|[\s\S]+?"
    else:
        raw, name = r".+?", r"[\s\S]+?"
    return re.compile(re.escape(open_tag) + r"\s*(?:=\s*(.+?)\s*=|\{\s*(" + raw + r")\s*\}|([!>&/#^]?)\s*("
                      + name + r"))\s*" + re.escape(close_tag))


_DEFAULT_TAG = _tag_pattern("{{", "}}")
# re.split gives, per tag, its four groups, then the text up to the next tag.
_PER_TAG = 5


def _tag_span(pattern: re.Pattern, text: str, base: int, number: int) -> tuple[int, int]:
    """Where the `number`-th tag (from 1) found by `pattern` in text[base:] starts and ends in
    `text`. Needed only for an error, a warning or a delimiter change: found again then."""
    for count, m in enumerate(pattern.finditer(text, base), 1):
        if count == number:
            return m.span()
    raise AssertionError("the split found more tags than the search")


def _line_of(text: str, index: int) -> int:
    return text.count("\n", 0, index) + 1


def parse(text: str) -> Template:
    """The template's node tree; MustacheError (with the line) when it cannot be parsed."""
    variable = _VARIABLES.get
    nodes: list = []
    append = nodes.append
    # Each open section: (kind, name, the node list it belongs to, and where its tag is: the pattern
    # and start of the part scanned, the tag's number there); its line is needed only for a warning.
    open_sections: list[tuple[str, str, list, re.Pattern, int, int]] = []
    pattern: re.Pattern | None = _DEFAULT_TAG
    scanning = pattern
    base = 0               # where the scanned part starts: after the last delimiter change
    line_start = True      # whether it starts a line
    while pattern is not None:
        pieces = pattern.split(text[base:] if base else text)
        scanning, pattern = pattern, None
        before = pieces[0]     # the text before the current tag, as in the template
        consumed = 0           # newline characters at its start taken by a standalone tag before it
        last = (len(pieces) - 1) // _PER_TAG
        tags = iter(pieces)
        next(tags)
        for number, (delims, raw_name, kind, name, after) in enumerate(zip(tags, tags, tags, tags, tags), 1):
            if delims is None and (raw_name is not None or not kind or kind == "&"):
                # A variable is never standalone: the text before it, indentation included, stays.
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
            if delims is not None:
                kind, name = "=", delims
            own = before[consumed:] if consumed else before
            kept = own.rstrip(" \t")
            # Standalone: only spaces/tabs between the line start (or the text start) and the tag,
            # and a line end (or the text end) right after it. It takes its whole line with it,
            # indentation and newline included.
            if kept:
                starts_line = kept[-1] in "\r\n"
            else:
                starts_line = consumed > 0 or (number == 1 and line_start)
            if starts_line and (after[:1] in ("\r", "\n") or (after == "" and number == last)):
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
                open_sections.append((kind, name, nodes, scanning, base, number))
                nodes = []
                append = nodes.append
            elif kind == "/":
                expected = open_sections[-1][1] if open_sections else None
                if name != expected:
                    wanted = "{{/%s}}" % expected if expected is not None else "no closing tag"
                    raise MustacheError(f"Section end tag mismatch: found {{{{/{name}}}}}, expected {wanted}",
                                        _line_of(text, _tag_span(scanning, text, base, number)[0]))
                section_kind, section_name, parent = open_sections.pop()[:3]
                parent.append((section_kind, section_name, _parts(section_name), nodes))
                nodes = parent
                append = nodes.append
            elif kind == "=":
                at, end = _tag_span(scanning, text, base, number)
                delimiters = name.split()
                if len(delimiters) < 2:
                    raise MustacheError(f"bad delimiter change {{{{={name}=}}}}: expected two delimiters",
                                        _line_of(text, at))
                # The rest of the text is scanned again with the new delimiters.
                pattern = _tag_pattern(delimiters[0], delimiters[1])
                base = end + consumed
                line_start = consumed > 0
                break
            # "!" comments and ">" partials produce nothing.
        else:
            if len(before) > consumed:
                append(before[consumed:] if consumed else before)
    template = Template(nodes)
    if open_sections:
        kind, name, _, scanning, base, number = open_sections[0]
        at = _tag_span(scanning, text, base, number)[0]
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
