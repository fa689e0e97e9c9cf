"""The Collector interface and the option declarations collectors use to describe their settings.

A collector instance lives as long as the agent process (unlike upstream, which built a new one per
poll), so it may keep state between polls, such as the watch collector's last ETag. Every collector
subclasses `Collector`, which declares each member a loop reads, with the default that suits a
source without the feature, so the loops read them plainly.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, ClassVar, Mapping, Sequence


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


class Collector:
    """Built by the registry as `cls(settings)`, settings being its section's parsed options."""

    name: ClassVar[str]
    # Options read from the collector's own section of os-collect-config.conf.
    options: ClassVar[Mapping[str, Option]] = {}
    # Whether the root `deployments` list of this source is exploded into extra cache keys.
    explodes_deployments: ClassVar[bool] = False
    # Root keys whose os-apply-config items are exploded; None: the loop's `deployment_key`.
    deployment_keys: Sequence[str] | None = None
    # The longest sleep the source asks for (X-Stoker-Poll-Interval); None: it asks nothing.
    poll_interval: float | None = None
    # Seconds the source held its last request open (a long poll); a loop takes them off its next sleep.
    held_for: float = 0.0

    def collect(self) -> list[tuple[str, Any]]:
        """Return [(cache key, JSON value)], or raise SourceNotConfigured / SourceNotAvailable."""
        raise NotImplementedError

    def collect_promptly(self) -> list[tuple[str, Any]]:
        """collect(), but without holding a request open for a change (a long poll): the agent asks
        this while a result waits to be signalled, which must not wait behind the poll."""
        return self.collect()

    def start_watching(self, wake: Callable[[], None]) -> bool:
        """Call `wake()` from any thread when the source changed, so a loop sleeping between polls
        collects at once; False when the source cannot be watched."""
        return False

    def stop_watching(self) -> None:
        """Undo start_watching."""
