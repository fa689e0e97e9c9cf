"""The agent's own settings: an optional `[agent]` section of os-collect-config.conf.

    [agent]
    # seconds a hook may run when the deployment sets no deploy_timeout input
    deploy_timeout = 3600
    # longest wait between tries of an undelivered signal
    signal_retry_max = 300
    # seconds between SIGTERM and SIGKILL of a timed-out hook
    kill_grace = 5
    # send this server's metrics (CPU, memory, load, disk, metrics.d scripts) to the server
    metrics = off
    metrics_interval = 60
    metrics_batch = 60
    metrics_dir = /etc/stoker/metrics.d

os-collect-config and the collectors ignore this section; command-line flags override it.
"""
from __future__ import annotations

import configparser
from dataclasses import dataclass, fields

from collector.errors import ConfigError

SECTION = "agent"
TRUE = ("on", "true", "yes", "1")
FALSE = ("off", "false", "no", "0")


@dataclass(frozen=True)
class AgentSettings:
    deploy_timeout: float = 3600.0
    signal_retry_max: float = 300.0
    kill_grace: float = 5.0
    metrics: bool = False
    metrics_interval: float = 60.0
    metrics_batch: float = 60.0
    # Relative: under the agent's --root (so /etc/stoker/metrics.d on a guest).
    metrics_dir: str = "etc/stoker/metrics.d"


def load(path: str) -> AgentSettings:
    parser = configparser.RawConfigParser(strict=False, default_section="\0none")
    try:
        parser.read(path, encoding="utf-8")
    except configparser.Error as exc:
        raise ConfigError(f"{path}: {' '.join(str(exc).split())}") from None
    if not parser.has_section(SECTION):
        return AgentSettings()
    section = parser[SECTION]
    known = {f.name: f for f in fields(AgentSettings)}
    values = {}
    for key, spec in known.items():
        text = section.get(key)
        if text is None or not text.strip():
            continue
        values[key] = _parse(path, key, text.strip(), spec.type)
    unknown = sorted(set(section) - set(known))
    if unknown:
        raise ConfigError(f"{path}: [{SECTION}] {unknown[0]}: unknown setting (known: {', '.join(known)})")
    return AgentSettings(**values)


def _parse(path: str, key: str, text: str, kind: str):
    # `kind` is the annotation's text (postponed annotations).
    where = f"{path}: [{SECTION}] {key} = {text!r}"
    if kind == "bool":
        if text.lower() in TRUE:
            return True
        if text.lower() in FALSE:
            return False
        raise ConfigError(f"{where}: must be on or off")
    if kind == "str":
        return text
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value > 0 or value == float("inf"):
        raise ConfigError(f"{where}: must be a number of seconds above 0")
    return value
