"""The wheel of the stoker this server runs, made from the installed code itself.

No build backend and no network: the wheel holds the files of stoker's top-level packages as this
process imports them, and the installed distribution's own metadata (METADATA, entry points).
That works the same for an install from a wheel and for an editable checkout, and it is the
exact code the server speaks, not whatever an index calls that version. The bytes are
deterministic (sorted entries, fixed timestamps and modes), so the same code always has the
same sha256 and a restart does not invalidate hashes already handed to servers.

The package list and metadata are the installed distribution's: after a change to setup.py
(a new top-level package, new requirements), install again (`make venv`, `pip install -e .`),
as for any other use of the package.
"""
from __future__ import annotations

import base64
import hashlib
import importlib
import importlib.metadata
import io
import re
import zipfile
from pathlib import Path

DISTRIBUTION = "stoker"
# what the wheel carries from each package directory: the code and its data, not caches
_SKIP_DIRS = {"__pycache__"}
_SKIP_SUFFIXES = (".pyc", ".pyo", ".orig", ".rej", ".swp")
_EPOCH = (1980, 1, 1, 0, 0, 0)   # the earliest time a zip entry can carry


class AgentWheelError(RuntimeError):
    pass


def _metadata(dist: importlib.metadata.Distribution) -> str:
    text = dist.read_text("METADATA") or dist.read_text("PKG-INFO")
    if not text:
        raise AgentWheelError(f"the installed {DISTRIBUTION} has no METADATA to put in a wheel")
    return text


def _packages(dist: importlib.metadata.Distribution) -> list[str]:
    names = (dist.read_text("top_level.txt") or "").split()
    if not names:
        raise AgentWheelError(f"the installed {DISTRIBUTION} lists no top-level packages")
    return sorted(names)


def _package_files(name: str) -> list[tuple[str, Path]]:
    module = importlib.import_module(name)
    roots = [Path(p) for p in getattr(module, "__path__", [])]
    if len(roots) != 1:
        raise AgentWheelError(f"package {name} is not one directory: {roots}")
    files = []
    for path in sorted(roots[0].rglob("*")):
        relative = path.relative_to(roots[0])
        if (path.is_file() and not _SKIP_DIRS.intersection(relative.parts)
                and not path.name.endswith(_SKIP_SUFFIXES)):
            files.append((f"{name}/{relative.as_posix()}", path))
    return files


def _record_line(arcname: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{arcname},sha256={digest},{len(data)}"


def wheel_name(version: str) -> str:
    return f"{DISTRIBUTION}-{re.sub(r'[^A-Za-z0-9.]+', '_', version)}-py3-none-any.whl"


def build_agent_wheel() -> tuple[str, bytes]:
    """(file name, bytes) of the running stoker as a pure-Python wheel."""
    try:
        dist = importlib.metadata.distribution(DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        raise AgentWheelError(f"{DISTRIBUTION} is not installed as a distribution "
                              "(install it with pip, e.g. `pip install -e .`)") from None
    version = dist.version
    info = f"{DISTRIBUTION}-{re.sub(r'[^A-Za-z0-9.]+', '_', version)}.dist-info"
    entries: list[tuple[str, bytes]] = []
    for package in _packages(dist):
        entries += [(arcname, path.read_bytes()) for arcname, path in _package_files(package)]
    entries.append((f"{info}/METADATA", _metadata(dist).encode()))
    entries.append((f"{info}/WHEEL", b"Wheel-Version: 1.0\nGenerator: stoker-server\n"
                    b"Root-Is-Purelib: true\nTag: py3-none-any\n"))
    entry_points = dist.read_text("entry_points.txt")
    if entry_points:
        entries.append((f"{info}/entry_points.txt", entry_points.encode()))
    entries.append((f"{info}/top_level.txt", "\n".join(_packages(dist)).encode() + b"\n"))
    record = [_record_line(name, data) for name, data in entries] + [f"{info}/RECORD,,"]
    entries.append((f"{info}/RECORD", ("\n".join(record) + "\n").encode()))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for arcname, data in entries:
            item = zipfile.ZipInfo(arcname, date_time=_EPOCH)
            item.external_attr = 0o644 << 16
            item.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(item, data)
    return wheel_name(version), buffer.getvalue()
