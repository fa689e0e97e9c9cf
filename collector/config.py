"""os-collect-config.conf: the agent's INI configuration, in upstream's format.

    [DEFAULT]
    # one collector per line, or several separated by commas
    collectors = watch
    # longest sleep between polls, and the first and shortest one (seconds)
    polling_interval = 30
    min_polling_interval = 1
    cachedir = /var/lib/os-collect-config

    # one section per collector, with the keys that collector declares
    [watch]
    metadata_url = http://...
    auth_token = ...

Comments go on their own lines: as with oslo.config, text after a value is part of the value.
Errors name the file, section and key so that the operator knows what to fix.
"""
from __future__ import annotations

import configparser
import re
from dataclasses import dataclass, field
from typing import Any, Mapping

from collector import registry
from collector.base import Option, non_negative_float, positive_float
from collector.errors import ConfigError

DEFAULT_COLLECTORS = ("watch",)

GLOBAL_OPTIONS: Mapping[str, Option] = {
    "polling_interval": Option(positive_float, 30.0, "longest sleep between polls"),
    "min_polling_interval": Option(positive_float, 1.0, "first and shortest sleep between polls"),
    "cachedir": Option(str, None, "collector cache directory"),
    # os-collect-config's own keys; `stoker agent` reads but does not use them.
    "command": Option(str, None, "shell command run when the data changed"),
    "splay": Option(non_negative_float, None, "random delay in [0, splay) seconds before the first poll"),
    "backup_cachedir": Option(str, None, "directory that gets a copy of cachedir after each change"),
    "deployment_key": Option(str, ["deployments"], "root keys whose deployments are exploded", multi=True),
}

_SECTION = re.compile(r"^\[(?P<name>[^\]]+)\]")


@dataclass
class AgentConfig:
    path: str | None = None
    collectors: tuple[str, ...] = DEFAULT_COLLECTORS
    polling_interval: float = 30.0
    min_polling_interval: float = 1.0
    cachedir: str | None = None
    command: str | None = None
    splay: float | None = None
    backup_cachedir: str | None = None
    deployment_key: list[str] = field(default_factory=lambda: ["deployments"])
    # collector name -> its parsed settings (every declared option present, defaults filled in)
    settings: dict[str, dict[str, Any]] = field(default_factory=dict)


def load(path: str, default_collectors: tuple[str, ...] = DEFAULT_COLLECTORS) -> AgentConfig:
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config file: {exc.strerror or exc}") from None
    return parse(text, path, default_collectors)


def parse(text: str, path: str = "<config>",
          default_collectors: tuple[str, ...] = DEFAULT_COLLECTORS) -> AgentConfig:
    # Raw: tokens and URLs may contain '%'. strict=False: upstream files repeat keys. [DEFAULT] is
    # made an ordinary section because oslo.config does not inherit it into collector sections.
    parser = configparser.RawConfigParser(strict=False, default_section="\0none")
    try:
        parser.read_string(text, source=path)
    except configparser.Error as exc:
        raise ConfigError(f"{path}: {_one_line(exc)}") from None

    sections = _sections(text)
    defaults = _normalised(parser["DEFAULT"]) if parser.has_section("DEFAULT") else {}
    values: dict[str, Any] = {}
    for key, option in GLOBAL_OPTIONS.items():
        values[key] = _option_value(path, "DEFAULT", key, defaults.get(key), option, sections)

    names = _collector_names(sections)
    collectors = tuple(names) if names else tuple(default_collectors)
    settings: dict[str, dict[str, Any]] = {}
    for name in collectors:
        try:
            cls = registry.get(name)
        except KeyError:
            known = ", ".join(sorted(registry.COLLECTORS))
            raise ConfigError(f"{path}: [DEFAULT] collectors: unknown collector {name!r} (known: {known})") from None
        section = _normalised(parser[name]) if parser.has_section(name) else {}
        settings[name] = {
            key: _option_value(path, name, key, section.get(key), option, sections)
            for key, option in cls.options.items()
        }
    return AgentConfig(path=path, collectors=collectors, settings=settings, **values)


def render(sections: Mapping[str, Mapping[str, Any]], collectors: tuple[str, ...] = DEFAULT_COLLECTORS,
           **globals_: Any) -> str:
    """The text of a config file, e.g. render({"watch": {"metadata_url": u, "auth_token": t}})."""
    lines = ["[DEFAULT]"] + [f"collectors = {name}" for name in collectors]
    lines += [f"{k} = {v}" for k, v in globals_.items() if v is not None]
    for name, options in sections.items():
        lines += ["", f"[{name}]"] + [f"{k} = {v}" for k, v in options.items() if v is not None]
    return "\n".join(lines) + "\n"


def _collector_names(sections: Mapping[str, Mapping[str, list[str]]]) -> list[str]:
    """Every `collectors` line of [DEFAULT], in order.

    configparser keeps only the last of repeated keys, but upstream files list one collector per
    `collectors =` line, so every value `_sections` kept is used.
    """
    names = [n for value in sections.get("DEFAULT", {}).get("collectors", [])
             for n in re.split(r"[,\s]+", value) if n]
    # A collector listed twice would be polled twice; keep the first place it appears.
    return list(dict.fromkeys(names))


def _normalised(section: Mapping[str, str]) -> dict[str, str]:
    # oslo.config reads `metadata_url`; upstream's own docs sometimes write `metadata-url`.
    return {key.replace("-", "_"): value for key, value in section.items()}


def _sections(text: str) -> dict[str, dict[str, list[str]]]:
    """section -> key -> every value given for it, in order (for multi-valued options)."""
    found: dict[str, dict[str, list[str]]] = {}
    section = "DEFAULT"
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        header = _SECTION.match(line)
        if header:
            section = header.group("name").strip()
            continue
        if raw[:1].isspace():
            continue
        key, sep, value = _split(line)
        if sep:
            found.setdefault(section, {}).setdefault(key.replace("-", "_").lower(), []).append(value)
    return found


def _split(line: str) -> tuple[str, str, str]:
    match = re.match(r"^(?P<key>[^=:]+?)\s*(?P<sep>[=:])\s*(?P<value>.*)$", line)
    if not match:
        return line, "", ""
    return match.group("key"), match.group("sep"), match.group("value")


def _option_value(path: str, section: str, key: str, text: str | None, option: Option,
                  sections: Mapping[str, Mapping[str, list[str]]]) -> Any:
    if not option.multi:
        return _parse_value(path, section, key, text, option)
    lines = [v for v in sections.get(section, {}).get(key, []) if v.strip()]
    if not lines:
        return list(option.default) if option.default is not None else []
    return [_parse_value(path, section, key, v, option) for v in lines]


def _parse_value(path: str, section: str, key: str, text: str | None, option: Option) -> Any:
    if text is None or text.strip() == "":
        return option.default
    try:
        return option.parse(text.strip())
    except ValueError as exc:
        why = str(exc)
        if why.startswith("could not convert") or why.startswith("invalid literal"):
            why = "not a number"
        raise ConfigError(f"{path}: [{section}] {key} = {text.strip()!r}: {why}") from None


def _one_line(exc: Exception) -> str:
    return " ".join(str(exc).split())
