"""Process-local counters, exposed in Prometheus' text format by /metrics."""
from __future__ import annotations

import threading
from collections import Counter


class Metrics:
    def __init__(self):
        self._counts: Counter[tuple[str, tuple[tuple[str, str], ...]]] = Counter()
        self._lock = threading.Lock()

    def inc(self, name: str, **labels: str) -> None:
        key = (name, tuple(sorted(labels.items())))
        with self._lock:
            self._counts[key] += 1

    def value(self, name: str, **labels: str) -> int:
        return self._counts[(name, tuple(sorted(labels.items())))]

    def render(self, gauges: dict[str, float] | None = None) -> str:
        lines = []
        with self._lock:
            items = sorted(self._counts.items())
        for (name, labels), count in items:
            label_text = ",".join(f'{k}="{v}"' for k, v in labels)
            lines.append(f"{name}{{{label_text}}} {count}" if label_text else f"{name} {count}")
        for name, value in sorted((gauges or {}).items()):
            lines.append(f"{name} {value:g}")
        return "\n".join(lines) + "\n"
