"""The agent wheelhouse for boot tests: gathered once (from the package index pip is set up for)
into a cache outside the checkout, then copied into each test server's state directory, where
`stoker server` serves it and refreshes the agent wheel from the code under test.

Reusable by any boot test: `gathered_wheelhouse(private_dir)` once per session, then
`seed_state_dir(state_dir, gathered)` before starting a server, and `pinned_install(...)` for
the AgentInstall that user_data made by that server would carry.
"""
from __future__ import annotations

import fcntl
import importlib.metadata
import os
import shutil
from pathlib import Path

from metadata_server.boot import wheelhouse
from metadata_server.boot.bootstrap import AgentInstall, WheelhouseInstall
from metadata_server.boot.wheelhouse_cli import WHEELHOUSE_DIR


def cache_dir() -> Path:
    """STOKER_TEST_CACHE, else ~/.cache/stoker-tests: kept between runs, never in the repo."""
    return Path(os.environ.get("STOKER_TEST_CACHE") or Path.home() / ".cache/stoker-tests")


def gathered_wheelhouse(private: Path) -> Path:
    """A wheelhouse for this checkout in `private`: the dependencies from the cache (gathered
    there first if missing; one cache per set of requirements, shared by checkouts), the agent
    wheel of this checkout's code. Raises WheelhouseError (index unreachable) or
    AgentWheelError."""
    dist = importlib.metadata.distribution("stoker")
    metadata = dist.read_text("METADATA") or dist.read_text("PKG-INFO") or ""
    shared = cache_dir() / f"wheelhouse-{wheelhouse.requirements_key(metadata)[:16]}"
    shared.parent.mkdir(parents=True, exist_ok=True)
    wheelhouse.Wheelhouse(shared).ensure()
    copy = seed_state_dir(private, shared)
    wheelhouse.Wheelhouse(copy).ensure()     # another checkout's agent wheel may be in the cache
    return copy


def seed_state_dir(state_dir: Path, gathered: Path) -> Path:
    """Copy the gathered wheelhouse into a server's state directory (under the cache's lock, as
    another test run may be refreshing it)."""
    target = state_dir / WHEELHOUSE_DIR
    state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)   # the server refuses a looser one
    with open(gathered / ".lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        shutil.copytree(gathered, target, ignore=shutil.ignore_patterns(".lock", ".gather-*"))
    return target


def pinned_install(base_url: str, state_wheelhouse: Path) -> AgentInstall:
    """What a server with this wheelhouse pins in user_data (refreshing its agent wheel)."""
    manifest = wheelhouse.Wheelhouse(state_wheelhouse).ensure()
    return AgentInstall(wheelhouse=WheelhouseInstall.from_manifest(base_url, manifest))


# an install for checks that never run it: the form is real, the hashes are not
EXAMPLE_INSTALL = AgentInstall(wheelhouse=WheelhouseInstall(
    "http://192.0.2.10:8004/wheelhouse/",
    f"pip==26.3 \\\n    --hash=sha256:{'a' * 64}\nstoker==0.1.0 \\\n    --hash=sha256:{'b' * 64}\n",
    "pip-26.3-py3-none-any.whl", "a" * 64, (("3.11", "x86_64"),)))
