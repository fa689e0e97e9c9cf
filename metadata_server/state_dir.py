"""The server's state directory holds secrets: keep it and its files for the server's user alone.

It is created 0700 and the SQLite database 0600 whatever the umask (SQLite gives the database's
-wal and -shm files the database's own mode). A directory or admin-token file that group or
others can reach stops the server before it reads anything, with the command that fixes it.
"""
from __future__ import annotations

import os
import stat
from pathlib import Path

ADMIN_TOKEN_FILE = "admin-token"
SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")


class UnsafeStateDir(Exception):
    """One line: the path, its mode, and the command that fixes it."""


def prepare(state_dir: Path, sqlite_path: Path | None) -> None:
    """Create or check the state directory, and make the SQLite database (if any) 0600."""
    if not state_dir.exists():
        state_dir.parent.mkdir(parents=True, exist_ok=True)
        state_dir.mkdir(mode=0o700)
        os.chmod(state_dir, 0o700)  # mkdir's mode is masked by the umask
    _refuse_if_shared(state_dir, "state directory", "700")
    token = state_dir / ADMIN_TOKEN_FILE
    if token.exists():
        _refuse_if_shared(token, "admin token file", "600")
    if sqlite_path is not None:
        secure_file(sqlite_path)
        for suffix in SQLITE_SIDE_FILES:
            side = sqlite_path.with_name(sqlite_path.name + suffix)
            if side.exists():
                secure_file(side)


def _refuse_if_shared(path: Path, what: str, fix: str) -> None:
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise UnsafeStateDir(f"{what} {path} is open to group or others (mode {mode:04o}); it "
                             f"holds secrets: run `chmod {fix} {path}` and start again")


def secure_file(path: Path) -> None:
    """Create `path` empty with mode 0600 if it is missing, else take group and others' access
    away (a database file made by an older version under a 0700 directory)."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        if stat.S_IMODE(os.fstat(fd).st_mode) != 0o600:
            os.fchmod(fd, 0o600)
    finally:
        os.close(fd)


def write_secret_file(path: Path, text: str) -> None:
    """A new file only the owner can read, whatever the umask; refuses to overwrite one."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        os.fchmod(handle.fileno(), 0o600)
        handle.write(text)


def sqlite_path(db_url: str) -> Path | None:
    """The file behind a SQLite URL, or None for another database or an in-memory one."""
    from sqlalchemy.engine import make_url

    url = make_url(db_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    return Path(url.database)
