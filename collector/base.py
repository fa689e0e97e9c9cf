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
    # Repeated lines (`path = a` / `path = b`) accumulate into a list, as oslo.config's MultiStrOpt.
    multi: bool = False
    # A password or secret key: whatever lists settings must mask it (collectors never log them).
    secret: bool = False


def positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise ValueError("must be a number greater than 0")
    return value


def non_negative_float(text: str) -> float:
    value = float(text)
    if not value >= 0:
        raise ValueError("must be a number, 0 or more")
    return value


def boolean(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ValueError("must be true or false")


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


# Optional attributes a collector may have; loops read them with getattr(collector, name, None):
#   deployment_keys: Sequence[str]  root keys whose os-apply-config items are exploded (default
#                                   ("deployments",))
#   poll_interval: float | None     the longest sleep the source asks for (X-Stoker-Poll-Interval)
#   held_for: float                 seconds the source held the last request open (a long poll);
#                                   a loop subtracts it from its next sleep
#   start_watching(wake) / stop_watching(): call `wake()` from any thread when the source changed,
#                                   so a loop sleeping between polls collects at once
