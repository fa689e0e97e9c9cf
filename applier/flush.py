"""Make a batch of written files (or renamed directory entries) durable, as cheaply as is safe.

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


def durable(paths: list[str], directories: bool = False) -> None:
    """Flush `paths` (files, or with `directories` the directories holding renamed entries)."""
    if len(paths) >= BATCH:
        syncfs = _syncfs_call()
        if syncfs is not None:
            for representative in _one_per_filesystem(paths, directories):
                _syncfs_path(syncfs, representative)
            return
    if directories:
        for path in paths:
            fsync_path(path, directory=True)
    else:
        _fsync_each(paths)


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


def _one_per_filesystem(paths: list[str], directories: bool) -> list[str]:
    """One directory per filesystem (st_dev) among those holding `paths` (or `paths` themselves,
    with `directories`: a mount point is on its own filesystem, not its parent's)."""
    by_device: dict[int, str] = {}
    statted = set()
    for path in paths:
        directory = path if directories else (os.path.dirname(path) or ".")
        if directory not in statted:
            statted.add(directory)
            by_device.setdefault(os.stat(directory).st_dev, directory)
    return list(by_device.values())


def _syncfs_path(syncfs, path: str) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        if syncfs(fd) != 0:
            import ctypes

            err = ctypes.get_errno()
            raise OSError(err, f"syncfs: {os.strerror(err)}", path)
    finally:
        os.close(fd)


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
