"""Carry out a plan: atomic writes (temp file, fsync, rename), in-place attribute fixes, deletes.

A new file gets its final mode and owner before it is renamed into place, so it is never visible
with looser permissions than the control file asks for.
"""
from __future__ import annotations

import logging
import os
import tempfile

from applier.errors import ApplyError
from applier.plan import KEEP, Action

log = logging.getLogger("os-apply-config")


def apply(actions: list[Action]) -> None:
    for action in actions:
        try:
            _apply_one(action)
        except OSError as e:
            raise ApplyError(f"{action.path}: cannot {action.kind.replace('-', ' ')} "
                             f"(from {action.template}): {e.strerror or e}") from None


def _apply_one(action: Action) -> None:
    if action.kind == "write":
        log.info("writing %s", action.path)
        write_atomic(action.path, action.body, action.mode, action.uid, action.gid)
    elif action.kind == "set-attributes":
        log.info("setting mode/owner of %s", action.path)
        os.chown(action.path, action.uid, action.gid)
        os.chmod(action.path, action.mode)
    elif action.kind == "delete":
        log.info("deleting %s", action.path)
        os.unlink(action.path)
    elif action.kind == "skip-empty":
        log.info("not creating empty %s", action.path)
    else:
        log.debug("unchanged %s", action.path)


def write_atomic(path: str, data: bytes, mode: int, uid: int = KEEP, gid: int = KEEP) -> None:
    directory = os.path.dirname(path) or "."
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix="." + os.path.basename(path) + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
            if uid != KEEP or gid != KEEP:
                os.fchown(f.fileno(), uid, gid)
            os.fchmod(f.fileno(), mode)  # after chown, which may clear setuid/setgid bits
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    _fsync_dir(directory)


def _fsync_dir(directory: str) -> None:
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
