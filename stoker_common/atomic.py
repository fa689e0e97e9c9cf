"""Atomic file writes: temp file in the same directory, fsync, rename. The one atomic writer of the
agent side: the agent, the collector's cache and the applier (which stages through `stage`).

Every file the agent owns is written this way so that a crash or power loss leaves either the old
or the new content, never a truncated file that the next start would misread (upstream's
deployed markers and cache files could be left half-written or with stale tail bytes).
"""
from __future__ import annotations

import json
import os
from typing import Any


def write_text(path: str, text: str, mode: int = 0o600) -> None:
    write_bytes(path, text.encode("utf-8"), mode)


def write_json(path: str, value: Any, mode: int = 0o600, indent: int | None = 1) -> None:
    write_text(path, json.dumps(value, indent=indent), mode)


def write_bytes(path: str, data: bytes, mode: int = 0o600) -> None:
    tmp = stage(path, data, mode, sync=True)
    try:
        os.replace(tmp, path)
    except BaseException:
        _unlink(tmp)
        raise
    fsync_dir(os.path.dirname(os.path.abspath(path)))


# O_EXCL|O_NOFOLLOW: a temp name that already exists (or is a planted symlink) is never written
# through.
_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)


def stage(path: str, data: bytes, mode: int = 0o600, uid: int = -1, gid: int = -1, sync: bool = False) -> str:
    """A temp file beside `path` holding `data` with its final owner and mode; returns its name.

    The first half of every atomic write: the caller renames it over `path` (write_bytes, or the
    applier, which makes a whole batch durable at once and so passes sync=False). Created 0600
    and given `mode` only once written and owned, so it is never readable by more than `mode`
    allows, and setuid/setgid bits are not cleared by the chown.
    """
    directory = os.path.dirname(os.path.abspath(path))
    prefix = os.path.join(directory, "." + os.path.basename(path) + ".")
    tmp = f"{prefix}{os.getpid()}.tmp"  # unique per target within a process: no random name needed
    try:
        fd = os.open(tmp, _CREATE, 0o600)
    except FileExistsError:  # left by a crashed run with the same pid, or another thread's write
        tmp = f"{prefix}{os.urandom(6).hex()}.tmp"
        fd = os.open(tmp, _CREATE, 0o600)
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            if uid != -1 or gid != -1:
                os.fchown(fd, uid, gid)
            os.fchmod(fd, mode)
            if sync:
                os.fsync(fd)
        finally:
            os.close(fd)
    except BaseException:
        _unlink(tmp)
        raise
    return tmp


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


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
