"""`.oac` control files: the mode, owner, group and allow_empty of one rendered file.

A control file is a YAML mapping next to its template (`<template>.oac`). Everything is checked
when the tree is rendered, before any file is written, and every error names the control file.
"""
from __future__ import annotations

import grp
import pwd
import re
from collections import namedtuple

from applier.errors import ApplyError

SUFFIX = ".oac"


# mode: None keeps the existing file's mode, 0644 for a new file; owner: uid, None keeps the
# existing owner (new file: this process); group: gid, likewise; allow_empty: False makes an empty
# rendering delete the target / not create it. (collections.namedtuple: typing costs ~2 ms per start.)
Control = namedtuple("Control", "mode owner group allow_empty", defaults=(None, None, None, True))


DEFAULT = Control()


def load(path: str) -> Control:
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except (OSError, UnicodeDecodeError) as e:
        raise ApplyError(f"{path}: cannot read control file: {e}") from None
    return parse(text, path)


def parse(text: str, path: str = "<control>") -> Control:
    data = _simple_yaml(text)
    if data is _NOT_SIMPLE:
        data = _yaml(text, path)
    if data is None:
        return DEFAULT
    if not isinstance(data, dict):
        raise ApplyError(f"{path}: control file header is not a dict (got {type(data).__name__})")
    values = {}
    for key, value in data.items():
        check = _CHECKS.get(key)
        if check is None:
            raise ApplyError(f"{path}: unrecognised file control key '{key}' "
                             f"(known: {', '.join(sorted(_CHECKS))})")
        values[key] = check(value, path)
    return Control(**values)


# Nearly every control file is a few `key: value` lines such as `mode: 0600` or `owner: root`.
# Importing PyYAML costs more than rendering a hundred templates, so those lines are read here,
# giving exactly what YAML 1.1's safe loader gives for them (0-prefixed digits are octal; the
# yes/no/on/off/true/false words are booleans; null words are null; other words are strings).
# Anything else (quotes, comments after a value, flow style, tabs, carriage returns or any other
# character outside printable ASCII, repeated keys, a document marker, ...) goes to PyYAML.
_NOT_SIMPLE = object()
_OUTSIDE_SIMPLE = re.compile(r"[^\n\x20-\x7e]")
_SIMPLE_LINE = re.compile(r"(mode|owner|group|allow_empty): +([A-Za-z_][A-Za-z0-9_-]*|0[0-7]*|[1-9][0-9]*) *")
_WORDS = {**dict.fromkeys(("yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON"), True),
          **dict.fromkeys(("no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF"), False),
          **dict.fromkeys(("null", "Null", "NULL"), None)}


def _simple_yaml(text: str):
    """The mapping (None when empty), or _NOT_SIMPLE when PyYAML must read the text."""
    if _OUTSIDE_SIMPLE.search(text):
        return _NOT_SIMPLE
    data = {}
    for line in text.split("\n"):
        if not line.strip(" ") or line[0] == "#":
            continue
        m = _SIMPLE_LINE.fullmatch(line)
        if m is None or m[1] in data:
            return _NOT_SIMPLE
        key, token = m.groups()
        if token[0] == "0":
            data[key] = int(token, 8)
        elif token[0].isdigit():
            data[key] = int(token)
        else:
            data[key] = _WORDS.get(token, token)
    return data or None


def _yaml(text: str, path: str):
    import yaml  # on first use: os-apply-config is started often, and most trees have few .oac files

    # libyaml's loader when PyYAML was built with it: the same safe loader, several times faster.
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        data = yaml.load(text, Loader=loader)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else path
        problem = getattr(e, "problem", None) or str(e)
        raise ApplyError(f"{where}: control file is not valid YAML: {problem}") from None
    return data


def _mode(value, path: str) -> int:
    if type(value) is not int:
        raise ApplyError(f"{path}: mode '{value}' is not numeric (write it as an octal number, "
                         "e.g. mode: 0644)")
    if not 0 <= value <= 0o777:
        raise ApplyError(f"{path}: mode '{value:#o}' out of range 0..0777")
    return value


def _owner(value, path: str) -> int:
    return _resolve(value, path, "owner", pwd.getpwuid, pwd.getpwnam, "passwd")


def _group(value, path: str) -> int:
    return _resolve(value, path, "group", grp.getgrgid, grp.getgrnam, "group")


def _resolve(value, path, field, by_id, by_name, database) -> int:
    try:
        if type(value) is int:
            return by_id(value)[2]
        if type(value) is str:
            try:
                return by_name(value)[2]
            except KeyError:
                if value.isdigit():  # a quoted id, e.g. owner: "501"
                    return by_id(int(value))[2]
                raise
    except KeyError:
        raise ApplyError(f"{path}: {field} '{value}' not found in {database} database") from None
    raise ApplyError(f"{path}: {field} '{value}' must be a name or a numeric id")


def _allow_empty(value, path: str) -> bool:
    if type(value) is not bool:
        raise ApplyError(f"{path}: allow_empty requires true or false, got '{value}'")
    return value


_CHECKS = {"mode": _mode, "owner": _owner, "group": _group, "allow_empty": _allow_empty}
