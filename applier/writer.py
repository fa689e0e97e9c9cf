"""Carry out a plan: new contents staged, made durable, then swapped in; attributes fixed in place.

Writes happen in steps so that a failure while writing (disk full, permissions) leaves every target
as it was, a target is never seen half-written, and durability costs a flush per batch rather than
one per file:
1. every changed file is written to a temp file beside its target, with its final mode and owner
   (never visible with looser permissions than the control file asks for);
2. all of them are made durable (flush.py: one syncfs per filesystem for a large batch on Linux,
   else fsync each), before any of them is renamed, so a crash never leaves an empty target;
3. each temp file is renamed over its target, then the renames are made durable the same way
   (each touched directory, or one syncfs per filesystem).
Attribute-only changes and deletes follow.
"""
from __future__ import annotations

import os

from applier import flush, log
from applier.errors import ApplyError
from applier.plan import Action
from stoker_common import atomic

def apply(actions: list[Action]) -> None:
    writes = [a for a in actions if a.kind == "write"]
    if writes:
        directories = list(dict.fromkeys(os.path.dirname(a.path) or "." for a in writes))
        try:
            batch = flush.Batch(directories, len(writes))
        except OSError as e:
            raise ApplyError(f"cannot prepare to flush the new files: {e.strerror or e}; "
                             "no file was changed") from None
        with batch:
            _replace(writes, directories, batch)
    for action in actions:
        if action.kind == "set-attributes":
            log.info("setting mode/owner of %s", action.path)
            _guard(action, os.chown, action.path, action.uid, action.gid)
            _guard(action, os.chmod, action.path, action.mode)
        elif action.kind == "delete":
            log.info("deleting %s", action.path)
            _guard(action, os.unlink, action.path)
        elif action.kind == "skip-empty":
            log.info("not creating empty %s", action.path)
        elif action.kind == "unchanged":
            log.debug("unchanged %s", action.path)


def _replace(writes: list[Action], directories: list[str], batch: flush.Batch) -> None:
    staged = _stage(writes)
    try:
        batch.files([tmp for _, tmp in staged])
    except OSError as e:
        _unlink_all(tmp for _, tmp in staged)
        raise ApplyError(f"cannot flush the new files to disk: {e.strerror or e}; "
                         "no file was changed") from None
    for done, (action, tmp) in enumerate(staged):
        log.info("writing %s", action.path)
        try:
            os.replace(tmp, action.path)
        except OSError as e:
            _unlink_all(tmp for _, tmp in staged[done:])
            raise ApplyError(f"{action.path}: cannot write (from {action.template}): "
                             f"{e.strerror or e}") from None
    try:
        batch.directories(directories)
    except OSError as e:
        raise ApplyError(f"cannot flush the renamed files to disk: {e.strerror or e}") from None


def _guard(action: Action, fn, *args) -> None:
    try:
        fn(*args)
    except OSError as e:
        raise ApplyError(f"{action.path}: cannot {action.kind.replace('-', ' ')} "
                         f"(from {action.template}): {e.strerror or e}") from None


def _stage(writes: list[Action]) -> list[tuple[Action, str]]:
    staged: list[tuple[Action, str]] = []
    made: set[str] = set()
    try:
        for action in writes:
            try:
                staged.append((action, _write_temp(action, made)))
            except OSError as e:
                raise ApplyError(f"{action.path}: cannot write (from {action.template}): "
                                 f"{e.strerror or e}; no file was changed") from None
    except BaseException:
        _unlink_all(tmp for _, tmp in staged)
        raise
    return staged


def _write_temp(action: Action, made: set[str]) -> str:
    """A temp file beside the target holding the new content, mode and owner; its path."""
    directory = os.path.dirname(action.path) or "."
    if directory not in made:
        os.makedirs(directory, exist_ok=True)
        made.add(directory)
    return atomic.stage(action.path, action.body, action.mode, action.uid, action.gid)


def _unlink_all(paths) -> None:
    for path in paths:
        try:
            os.unlink(path)
        except OSError:
            pass
