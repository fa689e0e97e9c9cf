"""The server's wheelhouse: its own agent and the agent's dependencies, as wheels it serves to
the servers it boots, so a stock image installs the agent with no route to the internet.

What it holds: the wheel of the running stoker (agent_wheel.py), pip, and every dependency the
agent's Requires-Dist pulls in, for each target (a CPython version and a CPU on glibc Linux:
manylinux_2_28, i.e. glibc 2.28 or newer). pip chooses the files: one `pip download` per target,
from PyPI or the index/find-links the operator configures. The result is a directory of wheels
and manifest.json (file name -> sha256, size, the targets that use it), from which
`requirements_text` makes the hash-pinned requirements file the user_data installs with.

When: `stoker wheelhouse --state-dir DIR` gathers it at install time; otherwise the first
SOFTWARE_CONFIG server that needs it gathers it (once; later calls and other workers reuse the
files). A new stoker (different code, so a different wheel hash) replaces the agent wheel; a
change to the agent's requirements or the targets gathers again.

Everything is bounded: file count, file size, time per download. The directory is 0700.
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from email.parser import HeaderParser
from pathlib import Path

from metadata_server.boot.agent_wheel import build_agent_wheel

log = logging.getLogger("stoker.wheelhouse")

PYTHONS = ("3.9", "3.10", "3.11", "3.12", "3.13")
MACHINES = ("x86_64", "aarch64")
GLIBC = "2_28"           # RHEL 8+, Debian 10+, Ubuntu 18.10+, Amazon Linux 2023
MANIFEST = "manifest.json"
MAX_FILES = 300
MAX_FILE_BYTES = 64 * 1024 * 1024
DOWNLOAD_TIMEOUT = 600   # one target's `pip download`
_WHEEL = re.compile(
    r"^(?P<name>[A-Za-z0-9_.]+)-(?P<version>[^-]+)(-\d[^-]*)?-[^-]+-[^-]+-[^-]+\.whl$")


class WheelhouseError(RuntimeError):
    pass


@dataclass(frozen=True)
class Target:
    python: str    # "3.9"
    machine: str   # "x86_64", as platform.machine() says on Linux

    def pip_args(self) -> list[str]:
        abi = "cp" + self.python.replace(".", "")
        return ["--platform", f"manylinux_{GLIBC}_{self.machine}", "--python-version",
                self.python, "--implementation", "cp", "--abi", abi]

    def environment(self) -> dict[str, str]:
        """PEP 508 marker values on this target."""
        return {"python_version": self.python, "python_full_version": self.python + ".0",
                "platform_machine": self.machine, "sys_platform": "linux",
                "platform_system": "Linux", "os_name": "posix",
                "implementation_name": "cpython", "platform_python_implementation": "CPython",
                "extra": ""}

    def marker(self) -> str:
        return f'(python_version == "{self.python}" and platform_machine == "{self.machine}")'

    def __str__(self) -> str:
        return f"cp{self.python}-{self.machine}"


TARGETS = tuple(Target(p, m) for p in PYTHONS for m in MACHINES)


@dataclass(frozen=True)
class Sources:
    """Where `pip download` looks: PyPI by default, or the operator's index and find-links."""
    index_url: str | None = None
    find_links: tuple[str, ...] = ()
    no_index: bool = False

    @classmethod
    def from_env(cls, environ) -> "Sources":
        """STOKER_WHEELHOUSE_INDEX_URL, STOKER_WHEELHOUSE_FIND_LINKS (space separated),
        STOKER_WHEELHOUSE_NO_INDEX=1."""
        return cls(environ.get("STOKER_WHEELHOUSE_INDEX_URL") or None,
                   tuple(environ.get("STOKER_WHEELHOUSE_FIND_LINKS", "").split()),
                   environ.get("STOKER_WHEELHOUSE_NO_INDEX", "") in ("1", "true", "yes"))

    def pip_args(self) -> list[str]:
        args = ["--no-index"] if self.no_index else (
            ["--index-url", self.index_url] if self.index_url else [])
        for location in self.find_links:
            args += ["--find-links", location]
        return args


def project_of(filename: str) -> tuple[str, str]:
    """(normalized project name, version) of a wheel file name."""
    match = _WHEEL.match(filename)
    if not match:
        raise WheelhouseError(f"{filename!r} is not a wheel file name")
    return re.sub(r"[-_.]+", "-", match["name"]).lower(), match["version"]


def agent_requirements(metadata: str, target: Target) -> list[str]:
    """The Requires-Dist of stoker's METADATA that apply to the agent on `target` (extras are
    the server's), without their markers: pip would judge markers by this machine, not the
    target."""
    from packaging.requirements import Requirement

    found = []
    for line in HeaderParser().parsestr(metadata).get_all("Requires-Dist") or []:
        requirement = Requirement(line)
        if requirement.marker is None or requirement.marker.evaluate(target.environment()):
            requirement.marker = None
            found.append(str(requirement))
    return found


def supported_targets(metadata: str, targets=TARGETS) -> tuple[Target, ...]:
    """The targets whose Python the agent's Requires-Python accepts."""
    from packaging.specifiers import SpecifierSet

    requires = HeaderParser().parsestr(metadata).get("Requires-Python") or ""
    accepted = SpecifierSet(requires)
    chosen = tuple(t for t in targets if accepted.contains(t.python + ".0"))
    if not chosen:
        raise WheelhouseError(f"stoker's Requires-Python {requires!r} accepts none of the "
                              f"wheelhouse's Pythons {sorted({t.python for t in targets})}")
    return chosen


def requirements_key(metadata: str, targets=TARGETS) -> str:
    """What the dependencies were gathered for: the agent's requirements on each target."""
    wants = {str(t): agent_requirements(metadata, t)
             for t in supported_targets(metadata, targets)}
    return hashlib.sha256(json.dumps(wants, sort_keys=True).encode()).hexdigest()


def requirements_text(files: dict[str, dict], targets: tuple[Target, ...]) -> str:
    """A pip requirements file: every project pinned (==) with the sha256 of each of its files;
    pip picks the file that fits the machine among them. A project whose version differs between
    targets gets one line per version, each with a marker naming its targets."""
    by_release: dict[tuple[str, str], dict] = {}
    for name, entry in sorted(files.items()):
        project, version = project_of(name)
        release = by_release.setdefault((project, version), {"hashes": set(), "targets": set()})
        release["hashes"].add(entry["sha256"])
        release["targets"].update(entry["targets"])
    everywhere = {str(t) for t in targets}
    lines = []
    for (project, version), release in sorted(by_release.items()):
        marker = ""
        if release["targets"] != everywhere:
            marker = " ; " + " or ".join(t.marker() for t in targets
                                         if str(t) in release["targets"])
        hashes = "".join(f" \\\n    --hash=sha256:{h}" for h in sorted(release["hashes"]))
        lines.append(f"{project}=={version}{marker}{hashes}\n")
    return "".join(lines)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _download(target: Target, requirements: list[str], dest: Path, sources: Sources) -> None:
    argv = [sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check",
            "--only-binary=:all:", "--dest", str(dest), *target.pip_args(), *sources.pip_args(),
            *requirements]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=DOWNLOAD_TIMEOUT,
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise WheelhouseError(f"downloading the agent's wheels for {target} took more than "
                              f"{DOWNLOAD_TIMEOUT} s") from None
    if done.returncode != 0:
        errors = [line for line in done.stderr.splitlines() if "ERROR" in line]
        raise WheelhouseError(f"pip could not download the agent's wheels for {target} from "
                              f"{sources.index_url or 'PyPI'}: "
                              f"{' '.join(errors)[-500:] or done.stderr.strip()[-500:]}")


class Wheelhouse:
    """One directory of wheels and its manifest. Thread-safe; across processes (gunicorn
    workers) a lock file makes one gather while the others wait and then reuse its result."""

    def __init__(self, directory: Path | str, sources: Sources = Sources(),
                 targets: tuple[Target, ...] = TARGETS):
        self.directory = Path(directory)
        self.sources, self.targets = sources, targets
        self._lock = threading.Lock()
        self._ready: dict | None = None
        self._read_cache: tuple[tuple, dict | None] = ((), None)

    # -- reading (the route) ---------------------------------------------------------------
    def manifest(self) -> dict | None:
        """The manifest as last written (re-read when the file changes), or None."""
        path = self.directory / MANIFEST
        try:
            stamp = path.stat()
        except OSError:
            return None
        key = (stamp.st_mtime_ns, stamp.st_size, stamp.st_ino)
        if self._read_cache[0] != key:
            try:
                self._read_cache = (key, json.loads(path.read_text()))
            except (OSError, ValueError):
                return None
        return self._read_cache[1]

    def file(self, name: str) -> tuple[Path, dict] | None:
        """A served file by its exact name in the manifest (never a path built from the name
        alone, so nothing outside the directory can be asked for)."""
        manifest = self.manifest()
        entry = manifest and manifest["files"].get(name)
        if not entry:
            return None
        return self.directory / "files" / name, entry

    # -- gathering ---------------------------------------------------------------------------
    def ensure(self) -> dict:
        """The manifest, gathering (once) whatever is missing or stale."""
        with self._lock:
            # again when the manifest changed under us (`stoker wheelhouse` run meanwhile)
            if self._ready is None or self.manifest() != self._ready:
                self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
                os.chmod(self.directory, 0o700)
                with open(self.directory / ".lock", "a") as lock:
                    fcntl.flock(lock, fcntl.LOCK_EX)
                    self._ready = self._refresh()
            return self._ready

    def _refresh(self) -> dict:
        agent_name, agent_bytes = build_agent_wheel()
        metadata = _wheel_metadata(agent_bytes)
        targets = supported_targets(metadata, self.targets)
        wants = {t: agent_requirements(metadata, t) for t in targets}
        key = requirements_key(metadata, self.targets)
        agent_sha = hashlib.sha256(agent_bytes).hexdigest()
        current = self.manifest()
        files_dir = self.directory / "files"
        if (current and current.get("key") == key and current["agent"] == agent_name
                and current["files"].get(agent_name, {}).get("sha256") == agent_sha
                and all((files_dir / n).is_file() for n in current["files"])):
            return current
        # the dependencies are reused when they were gathered for the same requirements and
        # are all still there; otherwise gathered again
        files = None
        if current and current.get("key") == key:
            files = {n: e for n, e in current["files"].items() if n != current["agent"]}
            if not all((files_dir / n).is_file() for n in files):
                files = None
        if files is None:
            log.info("gathering the agent's wheels for %d targets from %s", len(targets),
                     self.sources.index_url or "PyPI")
            files = self._gather(wants)
        files_dir.mkdir(mode=0o700, exist_ok=True)
        _write_atomic(files_dir / agent_name, agent_bytes)
        files[agent_name] = {"sha256": agent_sha, "size": len(agent_bytes),
                             "targets": sorted(str(t) for t in targets)}
        pip = sorted(n for n in files if project_of(n)[0] == "pip")
        manifest = {"key": key, "agent": agent_name, "pip": pip[0] if pip else None,
                    "targets": [str(t) for t in targets], "files": files,
                    "requirements": requirements_text(files, targets)}
        _write_atomic(self.directory / MANIFEST, json.dumps(manifest, indent=1).encode())
        for stale in files_dir.iterdir():
            if stale.name not in files:
                stale.unlink()
        log.info("agent wheelhouse ready: %d files in %s", len(files), self.directory)
        return manifest

    def _gather(self, wants: dict[Target, list[str]]) -> dict[str, dict]:
        staging = Path(tempfile.mkdtemp(prefix=".gather-", dir=self.directory))
        try:
            targets = list(wants)
            # pip itself is pinned to the release the oldest Python takes: the bootstrap runs
            # that one wheel on every target
            first = targets[0]
            _download(first, wants[first] + ["pip"], staging / str(first), self.sources)
            pips = [p.name for p in (staging / str(first)).glob("pip-*.whl")]
            pin = f"pip=={project_of(pips[0])[1]}" if pips else "pip"
            with ThreadPoolExecutor(max_workers=4) as pool:
                for future in [pool.submit(_download, t, wants[t] + [pin], staging / str(t),
                                           self.sources) for t in targets[1:]]:
                    future.result()
            return self._collect(staging, targets)
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    def _collect(self, staging: Path, targets: list[Target]) -> dict[str, dict]:
        files: dict[str, dict] = {}
        files_dir = self.directory / "files"
        files_dir.mkdir(mode=0o700, exist_ok=True)
        for target in targets:
            for path in sorted((staging / str(target)).iterdir()):
                project_of(path.name)   # only wheels: --only-binary=:all:
                size = path.stat().st_size
                if size > MAX_FILE_BYTES:
                    raise WheelhouseError(f"{path.name} is {size} bytes, more than the "
                                          f"wheelhouse's limit of {MAX_FILE_BYTES}")
                sha256 = _sha256(path)
                entry = files.setdefault(path.name, {"sha256": sha256, "size": size,
                                                     "targets": []})
                if entry["sha256"] != sha256:
                    raise WheelhouseError(f"{path.name}: two downloads differ in content")
                entry["targets"].append(str(target))
                if len(files) > MAX_FILES:
                    raise WheelhouseError(f"the agent needs more than {MAX_FILES} wheels")
                if len(entry["targets"]) == 1:   # the first download of this file
                    os.chmod(path, 0o600)
                    os.replace(path, files_dir / path.name)
        return files


def _wheel_metadata(wheel: bytes) -> str:
    import io
    import zipfile

    with zipfile.ZipFile(io.BytesIO(wheel)) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        return archive.read(name).decode()


def _write_atomic(path: Path, data: bytes) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(temporary, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.chmod(temporary, 0o600)
    os.replace(temporary, path)


# The wheelhouse of this process: `stoker server` sets it (STATE_DIR/wheelhouse); the route
# serves it and the engine pins the user_data it writes to it.
_current: Wheelhouse | None = None


def use(wheelhouse: Wheelhouse | None) -> None:
    global _current
    _current = wheelhouse


def current() -> Wheelhouse | None:
    return _current
