"""The os-collect-config process: polls, runs the command on change, sleeps, re-execs.

Sleeping: stoker_common.backoff.Backoff (reset to the minimum after a change that was applied, doubled
after an idle or failed poll, capped at polling_interval, ±10% jitter on every sleep). A server that
sends X-Stoker-Poll-Interval sets the cap; a long-polled request's held time is taken off the next
sleep. The sleep ends early on SIGHUP, SIGTERM, or when a watched local directory changes. SIGTERM while
collecting or sleeping ends the process at once; while the command runs, after it and its commit.

SIGHUP and a changed config file re-exec the process (as upstream), but never in the middle of a
command run or a cache write: the signal only sets a flag that the loop acts on at a safe point.
Upstream ignored SIGHUP from the first change on until it re-exec'd.
"""
from __future__ import annotations

import json
import logging
import os
import random
import signal
import sys
import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

from collector import occ_loop
from collector.base import Collector
from collector.cache import Cache
from stoker_common.backoff import Backoff

log = logging.getLogger(__name__)


@dataclass
class Settings:
    command: str | None
    cachedir: str
    backup_cachedir: str | None
    polling_interval: float
    min_polling_interval: float
    splay: float
    one_time: bool
    force: bool
    print_only: bool
    deployment_keys: list[str] = field(default_factory=lambda: ["deployments"])
    config_files: list[str] = field(default_factory=list)
    # md5 of the config files as they were read (occ_loop.config_hash); None: hash them at start
    config_digest: str | None = None


class Daemon:
    def __init__(self, settings: Settings, collectors: Sequence[Collector],
                 out: Any = None, reexec: Callable[[], None] | None = None,
                 rand: Callable[[], float] = random.random):
        self.settings = settings
        self.collectors = list(collectors)
        self.cache = Cache(settings.cachedir)
        self.out = out or sys.stdout
        self.reexec = reexec or reexec_self
        self.rand = rand
        self.wake = threading.Event()
        self.stop_requested = False
        self.hup_requested = False
        self._applying = False  # running the command and committing: a stop waits for the end
        self.backoff = Backoff(settings.min_polling_interval, settings.polling_interval, rand=rand)

    # -- signals -------------------------------------------------------------------------------
    def install_signals(self) -> None:
        # A broken pipe should end the process (systemd restarts it), not raise (LP 1795030).
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
        signal.signal(signal.SIGHUP, self._on_hup)
        signal.signal(signal.SIGTERM, self._on_stop)

    def _on_hup(self, signum: int, frame: Any) -> None:
        log.info("Signal received: SIGHUP; re-executing at the next safe point")
        self.hup_requested = True
        self.wake.set()

    def _on_stop(self, signum: int, frame: Any) -> None:
        self.stop_requested = True
        self.wake.set()
        if not self._applying:
            # Collecting or sleeping: cache files are written atomically (temp file, rename), so
            # leaving now loses nothing, and a held long poll does not delay the stop.
            log.info("Signal received: %s; stopping", signal.Signals(signum).name)
            raise SystemExit(0)
        log.info("Signal received: %s; stopping after the command and commit", signal.Signals(signum).name)

    # -- the loop ------------------------------------------------------------------------------
    def run(self) -> int:
        s = self.settings
        store_and_run = bool(s.command) and not s.print_only
        one_time = s.one_time or s.force or not store_and_run
        if not one_time:
            log.info("started (pid %d): collectors %s, polling every %gs to %gs", os.getpid(),
                     ", ".join(c.name for c in self.collectors) or "none", s.min_polling_interval, s.polling_interval)
        if store_and_run and not one_time and s.splay > 0:
            delay = self.rand() * s.splay
            log.info("splay: waiting %.1fs before the first poll", delay)
            if self._sleep(delay):
                return 0
        watching = [c for c in self.collectors if c.start_watching(self.wake.set)] if not one_time else []
        config_hash = s.config_digest or occ_loop.config_hash(s.config_files)
        exit_code = 0
        try:
            while True:
                collected = occ_loop.collect_all(self.collectors, self.cache, store=store_and_run,
                                                 deployment_keys=s.deployment_keys)
                if not store_and_run:
                    self.out.write(json.dumps(collected.content, indent=1) + "\n")
                    self.out.flush()
                    return 0
                applied = False
                if collected.changed or s.force:
                    rc = self._apply(collected)
                    applied = rc == 0
                    if rc:
                        exit_code = rc
                else:
                    log.info("No changes detected.")
                if one_time:
                    return exit_code
                if self.hup_requested or self._config_changed(config_hash):
                    self.reexec()
                    return 0  # reached only when reexec is replaced (tests)
                if self._sleep(self._next_delay(applied, collected)):
                    return exit_code
                if self.hup_requested:
                    self.reexec()
                    return 0
        finally:
            for collector in watching:
                collector.stop_watching()

    def _apply(self, collected: occ_loop.Collected) -> int:
        self._applying = True
        try:
            return self._apply_now(collected)
        finally:
            self._applying = False

    def _apply_now(self, collected: occ_loop.Collected) -> int:
        s = self.settings
        occ_loop.record(self.cache, collected)
        if s.backup_cachedir:
            try:
                occ_loop.backup(s.cachedir, s.backup_cachedir)
            except OSError as exc:
                log.warning("cannot refresh backup cachedir %s: %s", s.backup_cachedir, exc)
        rc = occ_loop.run_command(s.command or "", collected.paths)
        if rc:
            log.error("command %s failed with status %d; new data not committed, will retry", s.command, rc)
            return rc
        occ_loop.commit(self.cache, collected.changed)
        return 0

    def _next_delay(self, applied: bool, collected: occ_loop.Collected) -> float:
        self.backoff.follow_server(self.collectors)
        delay = self.backoff.next(changed=applied)
        held = max([c.held_for for c in self.collectors], default=0.0)
        return max(0.0, delay - held)

    def _sleep(self, seconds: float) -> bool:
        """Sleep up to `seconds` or until woken; True when a stop was requested."""
        if seconds > 0 and not self.stop_requested:
            log.debug("sleeping %.1fs", seconds)
            self.wake.wait(seconds)
        self.wake.clear()
        return self.stop_requested

    def _config_changed(self, before: str) -> bool:
        if not self.settings.config_files:
            return False
        after = occ_loop.config_hash(self.settings.config_files)
        if after != before:
            log.info("config file changed; re-executing")
            return True
        return False


def reexec_self() -> None:
    """Replace this process with a fresh one, same interpreter and arguments (as upstream)."""
    for handler in logging.getLogger().handlers:
        handler.flush()
    os.closerange(3, 255)
    os.execv(sys.executable, [sys.executable] + own_arguments())


def own_arguments() -> list[str]:
    """This interpreter's command line after the executable: `-m collector ...` or `script ...`."""
    if hasattr(sys, "orig_argv"):  # Python 3.10+
        return list(sys.orig_argv[1:])
    # Python 3.9: under `python -m pkg`, sys.argv[0] is the module's file, which run as a script
    # would not find its package; the __main__ module's spec still names it.
    spec = getattr(sys.modules.get("__main__"), "__spec__", None)
    if spec is not None and spec.name:
        return ["-m", spec.name] + sys.argv[1:]
    return list(sys.argv)
