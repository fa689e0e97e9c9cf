"""Named metrics from executables in the metrics directory (default /etc/stoker/metrics.d).

Each sample runs every executable file in the directory (sorted by name, like run-parts; names
starting with `.` or ending with `~` are skipped, and so is a file writable by group or others or
owned by another user than root or the agent's), with no arguments, stdin from /dev/null and the
directory as its working directory. Each line it prints is `NAME VALUE`: a name matching
NAME_PATTERN and a finite number (blank lines and `#` comments are ignored). A script is killed,
with its process group, after TIMEOUT seconds or once it printed more than OUTPUT_LIMIT bytes;
either way its lines are not used. A script that exits non-zero still gives the lines it printed.

A problem (a timeout, an exit status, a bad line) is logged once when it starts and once when it
ends, not at every sample: a broken probe on a one-second interval must not fill the journal.
"""
from __future__ import annotations

import logging
import math
import os
import re
import selectors
import signal
import subprocess
import time
from typing import Callable

log = logging.getLogger(__name__)

NAME_PATTERN = re.compile(r"[A-Za-z][A-Za-z0-9_.:-]{0,63}")
TIMEOUT = 10.0
OUTPUT_LIMIT = 16 * 1024
STDERR_KEPT = 200        # characters of a failing script's stderr quoted in the log
MAX_SCRIPTS = 32
MAX_METRICS = 64         # per sample, the wire contract's limit (built-ins included)


class ScriptMetrics:
    def __init__(self, directory: str, timeout: float = TIMEOUT, output_limit: int = OUTPUT_LIMIT,
                 reserved: tuple[str, ...] = (), clock: Callable[[], float] = time.monotonic):
        self.directory = directory
        self.timeout = timeout
        self.output_limit = output_limit
        self.reserved = frozenset(reserved)
        self.clock = clock
        self._problems: dict[str, str] = {}  # script or directory -> the problem last logged

    def sample(self, room: int = MAX_METRICS) -> dict[str, float]:
        """Every script's metrics, at most `room` of them (first scripts first)."""
        metrics: dict[str, float] = {}
        for path in self._scripts():
            name = os.path.basename(path)
            found, problem = self._run(path)
            for key in list(found):
                if key in self.reserved:
                    problem = problem or f"prints {key!r}, a built-in metric's name; line ignored"
                    del found[key]
            if len(metrics) + len(found) > room:
                problem = problem or f"metrics past the {MAX_METRICS} a sample holds; dropped"
                found = dict(list(found.items())[:max(0, room - len(metrics))])
            metrics.update(found)
            self._note(name, problem)
        return metrics

    def _scripts(self) -> list[str]:
        try:
            names = sorted(os.listdir(self.directory))
        except FileNotFoundError:
            self._note(".", None)  # no directory: no scripts, nothing wrong
            return []
        except OSError as exc:
            self._note(".", f"cannot list {self.directory}: {exc.strerror}")
            return []
        self._note(".", None)
        paths = self.executables(names)
        if len(paths) > MAX_SCRIPTS:
            self._note("*", f"{len(paths)} scripts, only the first {MAX_SCRIPTS} are run")
            return paths[:MAX_SCRIPTS]
        self._note("*", None)
        return paths

    def executables(self, names: list[str] | None = None) -> list[str]:
        """The scripts a sample runs, in order (all of them, past MAX_SCRIPTS too)."""
        if names is None:
            try:
                names = sorted(os.listdir(self.directory))
            except OSError:
                return []
        paths = []
        for name in names:
            if name.startswith(".") or name.endswith("~"):
                continue
            path = os.path.join(self.directory, name)
            if os.path.isfile(path) and os.access(path, os.X_OK) and self._trusted(name, path):
                paths.append(path)
        return paths

    def _trusted(self, name: str, path: str) -> bool:
        """The agent runs these as itself (root on a guest): one that another user could have
        written is skipped, as cron skips such crontabs."""
        st = os.stat(path)
        if st.st_mode & 0o022 or st.st_uid not in (0, os.getuid()):
            self._note(name, f"skipped: writable by others or owned by uid {st.st_uid} "
                             f"(mode {st.st_mode & 0o777:04o}); chmod go-w and chown it")
            return False
        return True

    def _run(self, path: str) -> tuple[dict[str, float], str | None]:
        try:
            proc = subprocess.Popen([path], cwd=self.directory, stdin=subprocess.DEVNULL,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
        except OSError as exc:
            return {}, f"cannot run: {exc.strerror or exc}"
        try:
            out, err, cut = self._read(proc)
        finally:
            _kill_group(proc)
        if cut:
            return {}, cut
        found, problem = parse(out.decode("utf-8", "replace"))
        if proc.returncode:
            why = err.decode("utf-8", "replace").strip().replace("\n", " ")[:STDERR_KEPT]
            problem = f"exit status {proc.returncode}" + (f": {why}" if why else "")
        return found, problem

    def _read(self, proc: subprocess.Popen) -> tuple[bytes, bytes, str | None]:
        """Both outputs, up to the limit and the deadline; the third item says which one cut it."""
        deadline = self.clock() + self.timeout
        chunks: dict[int, list[bytes]] = {1: [], 2: []}
        size = {1: 0, 2: 0}
        with selectors.DefaultSelector() as selector:
            selector.register(proc.stdout, selectors.EVENT_READ, 1)
            selector.register(proc.stderr, selectors.EVENT_READ, 2)
            while selector.get_map():
                left = deadline - self.clock()
                if left <= 0:
                    return b"", b"", f"timed out after {self.timeout:g}s; killed"
                for key, _ in selector.select(left):
                    data = os.read(key.fileobj.fileno(), 4096)
                    if not data:
                        selector.unregister(key.fileobj)
                        continue
                    size[key.data] += len(data)
                    if size[key.data] > self.output_limit:
                        return b"", b"", f"printed more than {self.output_limit} bytes; killed"
                    chunks[key.data].append(data)
        try:
            proc.wait(max(0.0, deadline - self.clock()))
        except subprocess.TimeoutExpired:
            return b"", b"", f"timed out after {self.timeout:g}s; killed"
        return b"".join(chunks[1]), b"".join(chunks[2]), None

    def _note(self, name: str, problem: str | None) -> None:
        """Log a problem when it starts or changes kind, and its end; nothing while it lasts."""
        before = self._problems.get(name)
        where = self.directory if name in (".", "*") else os.path.join(self.directory, name)
        if problem is None:
            if before is not None:
                del self._problems[name]
                log.info("metrics: %s works again", where)
            return
        if before is None or _kind(before) != _kind(problem):
            log.warning("metrics: %s: %s", where, problem)
        self._problems[name] = problem


def parse(text: str) -> tuple[dict[str, float], str | None]:
    """`NAME VALUE` lines -> metrics, and the first bad line (its number and why) if any."""
    metrics: dict[str, float] = {}
    problem = None
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split()
        why = None
        if len(parts) != 2:
            why = "expected NAME VALUE"
        elif not NAME_PATTERN.fullmatch(parts[0]):
            why = f"bad name {parts[0][:80]!r} (letters, digits, _ . : -, 64 at most, a letter first)"
        else:
            try:
                value = float(parts[1])
            except ValueError:
                value = math.nan
            if not math.isfinite(value):
                why = f"{parts[1][:80]!r} is not a finite number"
            else:
                metrics[parts[0]] = value
        if why and problem is None:
            problem = f"line {number}: {why}; line ignored"
    return metrics, problem


def _kind(problem: str) -> str:
    """What a problem is, without what varies from run to run (line numbers, stderr text)."""
    return re.split(r"[:;0-9]", problem, maxsplit=1)[0]


def _kill_group(proc: subprocess.Popen) -> None:
    for stream in (proc.stdout, proc.stderr):
        if stream is not None:
            stream.close()
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # the script, if still running, and what it left behind
    except (ProcessLookupError, PermissionError):
        pass
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        log.warning("metrics: script %d did not exit after SIGKILL", proc.pid)
