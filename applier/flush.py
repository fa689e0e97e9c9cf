"""Make a batch of written files, then their renames, durable, as cheaply as is safe (Batch).

fsync per file costs a journal commit each: 1,000 files take 70-80 ms here even when a thread pool
lets the journal batch them. Linux's syncfs(2) flushes a whole filesystem in one call (7-10 ms for
the same 1,000 files), and since Linux 5.8 it reports writeback errors that happened on that
filesystem, which is what makes it as trustworthy as fsync for our files. So a batch of at least
`BATCH` paths is flushed with one syncfs per filesystem it touches; smaller batches, other systems
and older kernels fsync each path (the price of syncfs grows with whatever else is dirty on the
filesystem, which fsync of a few files never pays).
"""
from __future__ import annotations

import os
import sys

BATCH = 16                # from this many paths on, one syncfs per filesystem beats fsync each
SYNCFS_REPORTS_ERRORS = (5, 8)

_syncfs = False           # not looked up yet; None: unavailable


class Batch:
    """The flushes for one plan's writes: `files` before the renames, `directories` after.

    Opened before the first temp file is written: syncfs reports the writeback errors of its
    filesystem that happen after its file descriptor was opened, so holding one from the start
    covers every byte written for the batch. fsync each file (the fallback) reports any error on
    that file's pages that nobody has seen yet.
    """

    def __init__(self, directories: list[str], count: int):
        self._fds: list[int] = []
        # Directories the writer will create: their entries in their parents need flushing too.
        self._created = {d: _existing(d) for d in directories if not os.path.isdir(d)}
        syncfs = _syncfs_call() if count >= BATCH else None
        if syncfs is not None:
            try:
                for directory in _one_per_filesystem([self._created.get(d, d) for d in directories]):
                    self._fds.append(os.open(directory, os.O_RDONLY | os.O_CLOEXEC))
            except OSError:
                self.close()
                raise
        self._syncfs = syncfs

    def __enter__(self) -> "Batch":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def files(self, paths: list[str]) -> None:
        if self._fds:
            self._sync_all()
        else:
            _fsync_each(paths)

    def directories(self, paths: list[str]) -> None:
        if self._fds:
            self._sync_all()
            return
        touched = dict.fromkeys(paths)
        for directory, existing in self._created.items():
            while directory != existing:
                directory = os.path.dirname(directory)
                touched[directory] = None
        for path in touched:
            fsync_path(path, directory=True)

    def close(self) -> None:
        while self._fds:
            os.close(self._fds.pop())

    def _sync_all(self) -> None:
        for fd in self._fds:
            if self._syncfs(fd) != 0:
                import ctypes

                err = ctypes.get_errno()
                raise OSError(err, f"syncfs: {os.strerror(err)}")


def _existing(directory: str) -> str:
    """`directory`, or its nearest existing ancestor (where it will be created: same filesystem)."""
    while directory and not os.path.isdir(directory):
        parent = os.path.dirname(directory)
        if parent == directory:
            break
        directory = parent
    return directory or "."


def kernel_reports_syncfs_errors(release: str) -> bool:
    """True for a Linux release string of 5.8 or later ("6.1.0-13-amd64")."""
    numbers = []
    for part in release.split(".")[:2]:
        digits = ""
        for ch in part:
            if not ch.isdigit():
                break
            digits += ch
        if not digits:
            return False
        numbers.append(int(digits))
    return len(numbers) == 2 and tuple(numbers) >= SYNCFS_REPORTS_ERRORS


def _syncfs_call():
    global _syncfs
    if _syncfs is False:
        _syncfs = None
        if sys.platform.startswith("linux") and kernel_reports_syncfs_errors(os.uname().release):
            try:
                import ctypes  # only here: a run that writes few files never loads it

                _syncfs = ctypes.CDLL(None, use_errno=True).syncfs
                _syncfs.argtypes = [ctypes.c_int]
                _syncfs.restype = ctypes.c_int
            except (OSError, AttributeError, ImportError):
                _syncfs = None
    return _syncfs


def _one_per_filesystem(directories: list[str]) -> list[str]:
    """One of `directories` per filesystem (st_dev)."""
    by_device: dict[int, str] = {}
    for directory in dict.fromkeys(directories):
        by_device.setdefault(os.stat(directory).st_dev, directory)
    return list(by_device.values())


def _fsync_each(paths: list[str]) -> None:
    if len(paths) < BATCH:
        for path in paths:
            fsync_path(path)
        return
    # No syncfs: fsync in parallel so the journal can commit many files at once.
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=16) as pool:
        list(pool.map(fsync_path, paths))


def fsync_path(path: str, directory: bool = False) -> None:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        if directory:
            return  # not every filesystem lets a directory be opened; nothing more can be done
        raise
    try:
        os.fsync(fd)
    except OSError:
        if not directory:
            raise  # some filesystems refuse fsync on a directory; a file's must succeed
    finally:
        os.close(fd)
