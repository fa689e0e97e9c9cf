"""The phases of one refresh and what happens when one fails.

Phases run in order from `<base>/<phase>.d` (a missing directory is skipped). The first script to
fail, or to run past a time limit, ends its phase; then `<base>/error.d` runs (its result does not
matter) and the run stops with exit status 1, later phases not run.

Time limits (stoker's): `total` bounds the whole run (upstream's --timeout), `phase` each phase,
`script` each script; a script past its limit is killed with its process tree. error.d scripts are
bounded by `script` only, so they still run after the total limit fired.
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass, field

from refresher.run_parts import RunPartsError, ScriptResult, run_directory

PHASES = ("pre-configure", "configure", "post-configure", "migration")
DEFAULT_BASE_DIR = "/usr/libexec/os-refresh-config"
LEGACY_BASE_DIR = "/opt/stack/os-config-refresh"


def base_dir(environ=os.environ, isdir=os.path.isdir, warn=lambda message: None) -> str:
    """$OS_REFRESH_CONFIG_BASE_DIR, else the standard dir unless only the legacy one exists."""
    if "OS_REFRESH_CONFIG_BASE_DIR" in environ:
        return environ["OS_REFRESH_CONFIG_BASE_DIR"]
    if isdir(LEGACY_BASE_DIR) and not isdir(DEFAULT_BASE_DIR):
        warn(f"Base directory {LEGACY_BASE_DIR} is deprecated; the recommended base directory "
             f"is {DEFAULT_BASE_DIR}")
        return LEGACY_BASE_DIR
    return DEFAULT_BASE_DIR


@dataclass(frozen=True)
class Limits:
    total: float | None = None
    phase: float | None = None
    script: float | None = None


@dataclass
class RunReport:
    results: list[ScriptResult] = field(default_factory=list)
    failed_phase: str | None = None
    reason: str | None = None

    @property
    def ok(self) -> bool:
        return self.failed_phase is None


def _earliest(*deadlines: float | None) -> float | None:
    present = [d for d in deadlines if d is not None]
    return min(present) if present else None


def run(base: str, log, limits: Limits = Limits(), clock=time.monotonic) -> RunReport:
    report = RunReport()
    run_deadline = clock() + limits.total if limits.total else None
    for phase in PHASES:
        directory = os.path.join(base, f"{phase}.d")
        if not os.path.isdir(directory):
            log.debug("No dir for phase %s", phase)
            continue
        log.info("Starting phase %s", phase)
        phase_deadline = clock() + limits.phase if limits.phase else None

        def deadline_for() -> float | None:
            per_script = clock() + limits.script if limits.script else None
            return _earliest(run_deadline, phase_deadline, per_script)

        try:
            results = run_directory(directory, phase, log, deadline_for)
        except RunPartsError as e:
            report.failed_phase, report.reason = phase, str(e)
        else:
            report.results.extend(results)
            failed = next((r for r in results if not r.ok), None)
            if failed is not None:
                report.failed_phase = phase
                report.reason = f"{failed.path} {failed.status}" + _which_limit(failed, limits)
        if report.failed_phase:
            log.error("during %s phase: %s", phase, report.reason)
            _run_error_handlers(base, log, limits, clock, report)
            log.error("Aborting...")
            return report
        log.info("Completed phase %s", phase)
    return report


def _which_limit(result: ScriptResult, limits: Limits) -> str:
    if not result.timed_out:
        return ""
    named = [f"{name} {value:g}s" for name, value in
             (("run", limits.total), ("phase", limits.phase), ("script", limits.script)) if value]
    return f" (time limits: {', '.join(named)})"


def _run_error_handlers(base: str, log, limits: Limits, clock, report: RunReport) -> None:
    error_dir = os.path.join(base, "error.d")
    if not os.path.isdir(error_dir):
        return
    log.info("Calling error handlers.")
    try:
        report.results.extend(run_directory(
            error_dir, "error", log, lambda: clock() + limits.script if limits.script else None))
    except RunPartsError as e:
        log.error("error.d: %s", e)
