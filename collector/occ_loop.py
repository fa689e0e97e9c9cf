"""The poll step of both loops (`stoker agent` and the os-collect-config drop-in), and the drop-in's
command run: collect every source, cache, run on change, commit.

Upstream's invariants kept: the command runs with OS_CONFIG_FILES (the cache files of this poll, in
collector order, each collector's file before its exploded deployments); `.last` is committed only
for changed keys and only after the command exited 0, so a failed run is retried every poll; the
backup cachedir gets a copy before the command runs.

Better than upstream:
- a source that fails or answers malformed data keeps its last good cache files, and they stay in
  OS_CONFIG_FILES and in `content` (upstream left the source out, so a transient failure made
  os-apply-config render from partial data, and the agent's runner got a deployments list without
  that source's deployments); which keys each collector produced is kept in `.stoker-sources.json`,
  and a source with no record there (a cache written before it existed) keeps its own file;
- no collector error ends the loop (upstream died on any unexpected exception);
- one warning line per failing source per poll, naming it and why.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

from collector.base import Collector
from collector.cache import Cache
from collector.errors import SourceNotAvailable, SourceNotConfigured
from collector.merger import explode
from stoker_common import atomic

log = logging.getLogger(__name__)

SOURCES_FILE = ".stoker-sources.json"


@dataclass
class Collected:
    content: dict[str, Any] = field(default_factory=dict)  # key -> data, in OS_CONFIG_FILES order
    paths: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    sources: dict[str, list[str]] = field(default_factory=dict)  # collector -> its keys
    unavailable: list[tuple[str, str]] = field(default_factory=list)  # (collector, reason)


def collect_all(collectors: Sequence[Collector], cache: Cache, store: bool,
                deployment_keys: Sequence[str] = ("deployments",),
                call: Callable[[Collector], Any] | None = None, warn: bool = True) -> Collected:
    """Ask every collector (through `call`, by default its `collect()`) and cache what it answered.

    `warn`: log a failing source as a warning here (the agent's loop says it itself, with its retry
    delay, so it asks for debug lines).
    """
    result = Collected()
    previous: dict[str, list[str]] | None = None   # read only when a source fails, not every poll

    def keys_before(name: str) -> list[str]:
        nonlocal previous
        if previous is None:
            previous = _load_sources(cache.cachedir) if store else {}
        return previous.get(name, [name])

    for collector in collectors:
        name = collector.name
        try:
            data = call(collector) if call is not None else collector.collect()
        except SourceNotConfigured as exc:
            log.debug("collector %s: not configured: %s", name, exc)
            continue
        except SourceNotAvailable as exc:
            _unavailable(result, cache, name, exc.reason, keys_before(name), store, warn)
            continue
        except Exception as exc:  # one collector's bug must not stop the others, nor the daemon
            log.debug("collector %s failed", name, exc_info=True)
            _unavailable(result, cache, name, f"unexpected {type(exc).__name__}: {exc}",
                         keys_before(name), store, warn)
            continue
        keys_of_collector = collector.deployment_keys or deployment_keys
        pairs: list[tuple[str, Any]] = []
        for key, content in data:
            pairs += explode(key, content, keys_of_collector) if collector.explodes_deployments else [(key, content)]
        result.sources[name] = []
        for key, content in pairs:
            if store:
                try:
                    changed, path = cache.store(key, content)
                except ValueError as exc:
                    log.warning("collector %s: not cached: %s", name, exc)
                    continue
                if path not in result.paths:
                    result.paths.append(path)
                if changed and key not in result.changed:
                    result.changed.append(key)
            result.content[key] = content
            result.sources[name].append(key)
    return result


def _unavailable(result: Collected, cache: Cache, name: str, reason: str, keys: list[str],
                 store: bool, warn: bool = True) -> None:
    result.unavailable.append((name, reason))
    kept = [k for k in keys if store and _cached(cache, k)]
    level = logging.WARNING if warn else logging.DEBUG
    if kept:
        log.log(level, "collector %s: %s; keeping its last good data (%s)", name, reason, ", ".join(kept))
    else:
        log.log(level, "collector %s: %s", name, reason)
    for key in kept:
        path = cache.path(key)
        if path not in result.paths:
            result.paths.append(path)
        result.sources.setdefault(name, []).append(key)
        content = cache.load(key)
        if content is not None:
            result.content.setdefault(key, content)


def _cached(cache: Cache, key: str) -> bool:
    try:
        return os.path.exists(cache.path(key))
    except ValueError:  # a collector name that is no file name has no cache file
        return False


def record(cache: Cache, collected: Collected) -> str:
    """Write os_config_files.json and the collector -> keys record; returns the list's path."""
    meta = cache.store_meta_list(collected.paths)
    atomic.write_json(os.path.join(cache.cachedir, SOURCES_FILE), collected.sources)
    return meta


def backup(cachedir: str, backup_dir: str) -> None:
    """Replace `backup_dir` with a copy of `cachedir` (built aside, then swapped in)."""
    parent = os.path.dirname(os.path.abspath(backup_dir)) or "."
    os.makedirs(parent, exist_ok=True)
    staging = tempfile.mkdtemp(dir=parent, prefix="." + os.path.basename(backup_dir) + ".new.")
    try:
        shutil.copytree(cachedir, staging, dirs_exist_ok=True)
        os.chmod(staging, 0o700)
        old = None
        if os.path.exists(backup_dir):
            old = tempfile.mkdtemp(dir=parent, prefix="." + os.path.basename(backup_dir) + ".old.")
            os.rmdir(old)
            os.rename(backup_dir, old)
        os.rename(staging, backup_dir)
        if old:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def run_command(command: str, paths: Sequence[str]) -> int:
    """Run `command` in a shell with OS_CONFIG_FILES; its exit status (127 when it cannot start)."""
    env = dict(os.environ, OS_CONFIG_FILES=":".join(paths))
    log.info("Executing %s with OS_CONFIG_FILES=%s", command, env["OS_CONFIG_FILES"])
    try:
        return subprocess.run(command, shell=True, env=env, check=False).returncode
    except OSError as exc:
        log.error("cannot run command %s: %s", command, exc.strerror or exc)
        return 127


def commit(cache: Cache, keys: Sequence[str]) -> None:
    for key in keys:
        cache.commit(key)


def config_hash(paths: Sequence[str]) -> str:
    """md5 of the config files' contents, concatenated (missing files count as empty), as upstream."""
    digest = hashlib.md5(usedforsecurity=False)
    for path in paths:
        try:
            with open(path, "rb") as f:
                digest.update(f.read())
        except OSError:
            continue
    return digest.hexdigest()


def _load_sources(cachedir: str) -> dict[str, list[str]]:
    try:
        with open(os.path.join(cachedir, SOURCES_FILE), encoding="utf-8") as f:
            value = json.load(f)
    except (OSError, ValueError):
        return {}
    if not isinstance(value, dict):
        return {}
    return {k: [x for x in v if isinstance(x, str)] for k, v in value.items() if isinstance(v, list)}
