"""Parsed templates and environments kept by content, so one text is parsed once.

The members of a group, and every stack made from one provider template, bind the same text: a
group of 500 members of a 500 KB provider template would otherwise parse it 500 times (seconds
of CPU each), both when the tree is counted and when the members are created. The engine keeps
one cache for all its stacks:

- bounded twice: by entries, and by the characters of text behind them (a parsed template holds
  some 50 times its text in memory), so it never holds more than a few of the largest templates
  the limits allow; a text larger than the whole budget is parsed and not kept;
- keyed by tenant, so one tenant's stacks never share a parsed object with another's, and how
  fast a bind answers says nothing about what other tenants have sent;
- parsed objects are only read after parsing (binding copies what it resolves), so one entry can
  serve many stacks and threads.
"""
from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from typing import Any, Callable


def digest(value: Any) -> str:
    """A key for a text (or an already decoded mapping)."""
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


class ParseCache:
    """Least recently used parse results within `max_entries` and `max_chars` of text."""

    def __init__(self, max_chars: int, max_entries: int = 64):
        self.max_chars, self.max_entries = max_chars, max_entries
        self.chars = 0
        self._items: OrderedDict[tuple, tuple[Any, int]] = OrderedDict()
        self._lock = threading.Lock()

    @classmethod
    def for_limits(cls, limits) -> "ParseCache":
        """Room for two texts of the largest size allowed (a top-level template and the
        provider template its group repeats), some 50 MB parsed at the default limits."""
        return cls(2 * limits.max_template_size)

    def __len__(self) -> int:
        return len(self._items)

    def get(self, key: tuple, chars: int, parse: Callable[[], Any]) -> Any:
        """The value kept for `key`, else parse() kept at a weight of `chars`. A parse that
        raises is not kept: the next bind raises the same error with its own place."""
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
                return found[0]
        value = parse()   # outside the lock: two threads may parse one text, neither waits
        if chars > self.max_chars:
            return value
        with self._lock:
            if key not in self._items:
                self._items[key] = (value, chars)
                self.chars += chars
            while self.chars > self.max_chars or len(self._items) > self.max_entries:
                _, (_, weight) = self._items.popitem(last=False)
                self.chars -= weight
        return value
