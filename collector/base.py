"""The Collector interface and the option declarations collectors use to describe their settings.

A collector instance lives as long as the agent process (unlike upstream, which built a new one per
poll), so it may keep state between polls, such as the watch collector's last ETag.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, ClassVar, Mapping, Protocol


@dataclass(frozen=True)
class Option:
    """One key of a collector's config section: how to parse its text, and its default."""

    parse: Callable[[str], Any] = str
    default: Any = None
    help: str = ""


def positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise ValueError("must be a number greater than 0")
    return value


class Collector(Protocol):
    name: ClassVar[str]
    # Options read from the collector's own section of os-collect-config.conf.
    options: ClassVar[Mapping[str, Option]]
    # Whether the root `deployments` list of this source is exploded into extra cache keys.
    explodes_deployments: ClassVar[bool]

    def __init__(self, settings: Mapping[str, Any]) -> None: ...

    def collect(self) -> list[tuple[str, Any]]:
        """Return [(cache key, JSON value)], or raise SourceNotConfigured / SourceNotAvailable."""
        ...
