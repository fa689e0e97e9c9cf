"""Atomic file writes: temp file in the same directory, fsync, rename.

Every file the agent owns is written this way so that a crash or power loss leaves either the old
or the new content, never a truncated file that the next start would misread (upstream's
deployed markers and cache files could be left half-written or with stale tail bytes).
"""
from __future__ import annotations

import json
import os
import tempfile
from typing import Any


def write_text(path: str, text: str, mode: int = 0o600) -> None:
    write_bytes(path, text.encode("utf-8"), mode)


def write_json(path: str, value: Any, mode: int = 0o600, indent: int | None = 1) -> None:
    write_text(path, json.dumps(value, indent=indent), mode)


def write_bytes(path: str, data: bytes, mode: int = 0o600) -> None:
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=directory, prefix="." + os.path.basename(path) + ".", suffix=".tmp")
    try:
        # fchmod before any byte is written: secrets must never sit in a world-readable file.
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    fsync_dir(directory)


def copy(src: str, dst: str, mode: int = 0o600) -> None:
    with open(src, "rb") as f:
        write_bytes(dst, f.read(), mode)


def ensure_dir(path: str, mode: int = 0o700) -> str:
    """Create `path` (and parents) if missing; existing directories keep their mode."""
    os.makedirs(path, mode=mode, exist_ok=True)
    return path


def fsync_dir(directory: str) -> None:
    """Make a rename in `directory` durable; not every filesystem allows opening a directory."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
