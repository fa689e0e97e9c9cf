"""An in-memory collector for tests: serves whatever document it was last given."""
from __future__ import annotations

from typing import Any, ClassVar, Mapping

from collector.base import Collector, Option
from collector.errors import SourceNotAvailable, SourceNotConfigured


class FakeCollector(Collector):
    name: ClassVar[str] = "fake"
    options: ClassVar[Mapping[str, Option]] = {}
    explodes_deployments: ClassVar[bool] = True

    def __init__(self, settings: Mapping[str, Any] | None = None, *, name: str = "fake", document: Any = None):
        self.name = name  # type: ignore[misc] - tests run several fakes side by side
        self.document = document
        self.failure: str | None = None
        self.configured = True
        self.calls = 0
        self.prompt_calls = 0  # of `calls`, how many asked collect_promptly()

    def set(self, document: Any) -> None:
        self.document, self.failure = document, None

    def fail(self, reason: str) -> None:
        self.failure = reason

    def collect(self) -> list[tuple[str, Any]]:
        self.calls += 1
        if not self.configured:
            raise SourceNotConfigured(f"{self.name} is not configured")
        if self.failure is not None:
            raise SourceNotAvailable(self.failure)
        return [(self.name, self.document)]

    def collect_promptly(self) -> list[tuple[str, Any]]:
        self.prompt_calls += 1
        return self.collect()
