"""Decide, without touching the disk, what each rendered file needs: the plan.

Input: every rendered file and what is on disk now (observed by `observe`, the only reading
done here). Output: one action per target, so `--validate` can say what would change and the writer
does only what the plan says. Modes and owners follow os-apply-config: the control file wins, else
the existing file's, else 0644 and the current user for a new file.
"""
from __future__ import annotations

import os
import stat
from collections import namedtuple

from applier.control import Control

NEW_FILE_MODE = 0o644
KEEP = -1  # chown's "leave as is"


# collections.namedtuple rather than typing.NamedTuple: importing typing costs ~2 ms of every start.

# template: template path, for messages; target: absolute path of the file to write; body: bytes;
# control: Control
Rendered = namedtuple("Rendered", "template target body control")

# regular: a regular file (not a symlink, directory, ...); data: bytes or None; mode, uid, gid: ints
Observed = namedtuple("Observed", "regular data mode uid gid")


class Action(namedtuple("Action", "kind path template body mode uid gid",
                        defaults=(b"", NEW_FILE_MODE, KEEP, KEEP))):
    """kind: "write" | "set-attributes" | "delete" | "unchanged" | "skip-empty"; path: the target;
    template: for messages; body: bytes; mode, uid, gid: what the target must end up with."""
    __slots__ = ()

    @property
    def changes(self) -> bool:
        return self.kind in ("write", "set-attributes", "delete")


def observe(path: str) -> Observed | None:
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return None
    if stat.S_ISREG(st.st_mode):
        with open(path, "rb") as f:
            data = f.read()
        return Observed(True, data, stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid)
    try:
        st = os.stat(path)  # a symlink: its target's mode and owner are what upstream keeps
    except OSError:
        pass
    return Observed(False, None, stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid)


def plan(rendered: list[Rendered], observed: dict[str, Observed | None]) -> list[Action]:
    return [_plan_one(item, observed.get(item.target)) for item in rendered]


def _plan_one(item: Rendered, current: Observed | None) -> Action:
    ctrl = item.control
    if not item.body and not ctrl.allow_empty:
        kind = "delete" if current is not None else "skip-empty"
        return Action(kind, item.target, item.template)
    mode = ctrl.mode if ctrl.mode is not None else (current.mode if current else NEW_FILE_MODE)
    uid = ctrl.owner if ctrl.owner is not None else (current.uid if current else KEEP)
    gid = ctrl.group if ctrl.group is not None else (current.gid if current else KEEP)
    action = Action("write", item.target, item.template, item.body, mode, uid, gid)
    if current is None or not current.regular or current.data != item.body:
        return action
    if (mode != current.mode or (uid != KEEP and uid != current.uid)
            or (gid != KEEP and gid != current.gid)):
        return Action("set-attributes", item.target, item.template, item.body, mode, uid, gid)
    return Action("unchanged", item.target, item.template, item.body, mode, uid, gid)
