"""The agent's own settings: an optional `[agent]` section of os-collect-config.conf.

    [agent]
    # seconds a hook may run when the deployment sets no deploy_timeout input
    deploy_timeout = 3600
    # longest wait between tries of an undelivered signal
    signal_retry_max = 300
    # seconds between SIGTERM and SIGKILL of a timed-out hook
    kill_grace = 5

os-collect-config and the collectors ignore this section; command-line flags override it.
"""
from __future__ import annotations

import configparser
from dataclasses import dataclass

from collector.errors import ConfigError

SECTION = "agent"


@dataclass(frozen=True)
class AgentSettings:
    deploy_timeout: float = 3600.0
    signal_retry_max: float = 300.0
    kill_grace: float = 5.0


def load(path: str) -> AgentSettings:
    parser = configparser.RawConfigParser(strict=False, default_section="\0none")
    try:
        parser.read(path, encoding="utf-8")
    except configparser.Error as exc:
        raise ConfigError(f"{path}: {' '.join(str(exc).split())}") from None
    if not parser.has_section(SECTION):
        return AgentSettings()
    section = parser[SECTION]
    values = {}
    for key in AgentSettings.__dataclass_fields__:
        text = section.get(key)
        if text is None or not text.strip():
            continue
        try:
            value = float(text)
        except ValueError:
            value = 0.0
        if not value > 0:
            raise ConfigError(f"{path}: [{SECTION}] {key} = {text.strip()!r}: must be a number of seconds above 0")
        values[key] = value
    unknown = sorted(set(section) - set(AgentSettings.__dataclass_fields__))
    if unknown:
        known = ", ".join(AgentSettings.__dataclass_fields__)
        raise ConfigError(f"{path}: [{SECTION}] {unknown[0]}: unknown setting (known: {known})")
    return AgentSettings(**values)
