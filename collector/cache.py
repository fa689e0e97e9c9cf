"""os-collect-config's cache directory, file for file.

For each key: `<key>.json` (current data), `<key>.json.orig` (written once, the first time the key
is seen), `<key>.json.last` (the data of the last run that completed: "committed"). A key has
changed when it was never seen, was never committed, or its data differs from `.last` as JSON
(key order and whitespace do not count). `os_config_files.json` lists the current files when
anything changed. Scripts may read `$FILE.last`, so these names are a public contract.
"""
from __future__ import annotations

import json
import os
from typing import Any

from stoker_common import atomic

META_LIST = "os_config_files.json"


class Cache:
    def __init__(self, cachedir: str):
        self.cachedir = cachedir

    def path(self, key: str) -> str:
        if not key or "/" in key or key.startswith(".") or "\0" in key:
            raise ValueError(f"cache key {key!r} is not a safe file name")
        return os.path.join(self.cachedir, key + ".json")

    def store(self, key: str, content: Any) -> tuple[bool, str]:
        """Write `content` as the current data of `key`; return (changed, path of `<key>.json`)."""
        path = self.path(key)
        atomic.ensure_dir(self.cachedir)
        content = _normalised(content)
        # Rewriting identical data every poll only costs an fsync; skip it.
        if _load(path) != content:
            atomic.write_json(path, content, indent=1)
        orig = path + ".orig"
        if not os.path.exists(orig):
            atomic.write_json(orig, content, indent=1)
            return True, path
        last = path + ".last"
        if not os.path.exists(last):
            return True, path
        return _load(last) != content, path

    def commit(self, key: str) -> str | None:
        """Mark the current data of `key` as handled by a completed run (copy it to `.last`)."""
        path = self.path(key)
        if not os.path.exists(path):
            return None
        atomic.copy(path, path + ".last")
        return path + ".last"

    def load(self, key: str) -> Any:
        """The current data of `key`, or None if there is none (or it cannot be read)."""
        value = _load(self.path(key))
        return None if value is _MISSING else value

    def store_meta_list(self, paths: list[str]) -> str:
        atomic.ensure_dir(self.cachedir)
        meta = os.path.join(self.cachedir, META_LIST)
        atomic.write_json(meta, list(paths), indent=None)
        return meta


_MISSING = object()


def _load(path: str) -> Any:
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return _MISSING


def _normalised(content: Any) -> Any:
    # Compare what will be on disk, not the Python object (tuples vs lists, int keys vs str keys).
    return json.loads(json.dumps(content))
