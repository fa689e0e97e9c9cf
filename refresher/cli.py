"""`os-refresh-config`: run the phase scripts under the run lock, then log a timing summary.

Same options, output and exit codes as upstream (0 ok, 1 a phase failed, 11 the lock is held),
plus --phase-timeout and --script-timeout. Scripts run in-process with dib-run-parts semantics:
no bash helper on PATH is needed.
"""
from __future__ import annotations

import argparse
import logging
import signal
import sys

from refresher import phases, process
from refresher.lock import DEFAULT_LOCKFILE, LockError, LockHeld, RunLock
from refresher.timing import summary

LOG_FORMAT = "[%(asctime)s] (%(name)s) [%(levelname)s] %(message)s"


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number of seconds") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"'{text}' must be more than 0 seconds")
    return value


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="os-refresh-config",
        description="Run the scripts of each phase (" + ", ".join(phases.PHASES) + ") from "
                    "$OS_REFRESH_CONFIG_BASE_DIR (default " + phases.DEFAULT_BASE_DIR + "); stop at "
                    "the first failure and run error.d.")
    p.add_argument("--print-base", action="store_true", help="print the base dir and exit")
    p.add_argument("--print-phases", action="store_true", help="print the phases (tab separated) and exit")
    p.add_argument("--log-level", default="INFO", choices=["ERROR", "WARN", "CRITICAL", "INFO", "DEBUG"])
    p.add_argument("--lockfile", default=DEFAULT_LOCKFILE,
                   help="lock file that keeps a second run from starting (default: %(default)s)")
    p.add_argument("--timeout", type=_seconds, metavar="SECONDS",
                   help="limit for the whole run; the running script is killed with its process tree")
    p.add_argument("--phase-timeout", type=_seconds, metavar="SECONDS", help="limit for each phase")
    p.add_argument("--script-timeout", type=_seconds, metavar="SECONDS", help="limit for each script")
    return p


def main(argv: list[str] | None = None) -> int:
    opts = build_parser().parse_args(sys.argv[1:] if argv is None else argv)
    log = _logger(opts.log_level)
    base = phases.base_dir(warn=log.warning)
    if opts.print_base:
        print(base)
        return 0
    if opts.print_phases:
        print("\t".join(phases.PHASES))
        return 0
    limits = phases.Limits(opts.timeout, opts.phase_timeout, opts.script_timeout)
    # Scripts run in their own process groups, so a stop signal aimed at ours would miss them:
    # turn it into an exit that kills the running script's tree and releases the lock.
    signal.signal(signal.SIGTERM, process.stop)
    try:
        with RunLock(opts.lockfile):
            report = phases.run(base, log, limits)
    except LockHeld as e:
        log.error("%s", e)
        return e.code
    except LockError as e:
        log.error("%s", e)
        return 1
    if report.results:
        for line in summary(report.results):
            log.info("%s", line)
    else:
        log.debug("no script ran")
    return 0 if report.ok else 1


def _logger(level: str) -> logging.Logger:
    log = logging.getLogger("os-refresh-config")
    if not log.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter(LOG_FORMAT))
        log.addHandler(handler)
    log.setLevel(level)
    log.propagate = False
    return log


if __name__ == "__main__":
    sys.exit(main())
