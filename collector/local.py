"""`local`: every JSON file in some directories, one cache key per file (os-collect-config's).

The key is the file's name as it is (`foo.json` becomes the cache file `foo.json.json`, as upstream).
A directory that is not owned by this user or that anyone may write to is refused, and so is a file
anyone may write to: whoever can write there could make this agent run anything. Keys are sorted
bytewise (the C locale), whatever order the directory lists them in.

With watchdog installed (`pip install 'stoker[watch]'`) a change in a directory wakes the loop at
once; without it changes are seen on the next poll.
"""
from __future__ import annotations

import json
import logging
import os
import stat
from typing import Any, Callable, ClassVar, Mapping

from collector.base import Collector, Option
from collector.errors import SourceNotAvailable

log = logging.getLogger(__name__)

DEFAULT_PATH = "/var/lib/os-collect-config/local-data"


class LocalCollector(Collector):
    name: ClassVar[str] = "local"
    options: ClassVar[Mapping[str, Option]] = {
        "path": Option(str, [DEFAULT_PATH], "a directory of JSON files; repeat for several", multi=True),
    }
    explodes_deployments: ClassVar[bool] = False

    def __init__(self, settings: Mapping[str, Any]):
        paths = settings.get("path")
        self.paths: list[str] = [paths] if isinstance(paths, str) else list(paths or [])
        self._observer: Any = None

    def collect(self) -> list[tuple[str, Any]]:
        if not self.paths:
            raise SourceNotAvailable("[local] path lists no directory")
        found: dict[str, Any] = {}
        for directory in self.paths:
            if not os.path.isdir(directory):
                log.warning("collector local: %s does not exist; skipped", directory)
                continue
            _check_owner_and_mode(directory, "directory")
            for name in os.listdir(directory):
                full = os.path.join(directory, name)
                if name.startswith(".") or os.path.isdir(full):
                    continue
                found[name] = _read(full)
        # Upstream sorts under LC_ALL=C: plain code point order, whatever the process locale.
        return sorted(found.items(), key=lambda item: item[0].encode("utf-8", "surrogateescape"))

    def start_watching(self, wake: Callable[[], None]) -> bool:
        """Wake the loop when a file in one of the directories changes; False without watchdog."""
        try:
            from watchdog.events import FileSystemEventHandler
            from watchdog.observers import Observer
        except ImportError:
            return False

        class Handler(FileSystemEventHandler):
            def on_any_event(self, event: Any) -> None:
                if event.event_type in ("opened", "closed_no_write"):
                    return  # reading a file (we do, every poll) is not a change
                wake()

        observer = Observer()
        watched = 0
        for directory in self.paths:
            if os.path.isdir(directory):
                observer.schedule(Handler(), directory, recursive=False)
                watched += 1
        if not watched:
            return False
        observer.daemon = True
        observer.start()
        self._observer = observer
        return True

    def stop_watching(self) -> None:
        if self._observer is not None:
            self._observer.stop()
            self._observer.join(timeout=5)
            self._observer = None


def _check_owner_and_mode(path: str, what: str) -> None:
    info = os.stat(path)
    if info.st_uid != os.getuid():
        raise SourceNotAvailable(f"{what} {path} is owned by uid {info.st_uid}, not by this user "
                                 f"(uid {os.getuid()}); refusing to read it")
    if info.st_mode & stat.S_IWOTH:
        raise SourceNotAvailable(f"{what} {path} is world-writable; refusing to read it")


def _read(path: str) -> Any:
    try:
        info = os.stat(path)
    except OSError as exc:
        raise SourceNotAvailable(f"cannot read {path}: {exc.strerror}") from None
    if info.st_mode & stat.S_IWOTH:
        raise SourceNotAvailable(f"file {path} is world-writable; refusing to read it")
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except OSError as exc:
        raise SourceNotAvailable(f"cannot read {path}: {exc.strerror}") from None
    except ValueError as exc:
        raise SourceNotAvailable(f"{path} is not valid JSON: {exc}") from None
