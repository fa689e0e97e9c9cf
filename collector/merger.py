"""Deployment explosion and the merged deployments list.

Explosion (os-collect-config's merger): each deployment of group `os-apply-config` or
`Heat::Ungrouped` (or with no group) has its `config` stored under its own cache key, named after
the deployment, after the collector's own key, so os-apply-config merges those configs into its
context. Unlike upstream, a malformed item is skipped with a warning instead of killing the daemon.
"""
from __future__ import annotations

import logging
from typing import Any, Iterable, Sequence

log = logging.getLogger(__name__)

DEPLOYMENT_KEYS = ("deployments",)
EXPLODED_GROUPS = ("os-apply-config", "Heat::Ungrouped")


def explode(collector: str, content: Any, deployment_keys: Sequence[str] = DEPLOYMENT_KEYS) -> list[tuple[str, Any]]:
    """[(collector, content)] followed by one (name, config) per os-apply-config deployment."""
    result: list[tuple[str, Any]] = [(collector, content)]
    if not isinstance(content, dict):
        return result
    for dkey in deployment_keys:
        if dkey not in content:
            continue
        items = content[dkey]
        if not isinstance(items, list):
            log.warning("collector %s: %r is not a list; no deployments exploded", collector, dkey)
            continue
        for index, item in enumerate(items):
            exploded = _exploded(collector, dkey, index, item)
            if exploded is not None:
                result.append(exploded)
    return result


def _exploded(collector: str, dkey: str, index: int, item: Any) -> tuple[str, Any] | None:
    where = f"collector {collector}: {dkey}[{index}]"
    if not isinstance(item, dict):
        log.warning("%s is not an object; skipped", where)
        return None
    name = item.get("name")
    if not name or not isinstance(name, str):
        log.warning("%s has no name; skipped", where)
        return None
    if item.get("group", "Heat::Ungrouped") not in EXPLODED_GROUPS:
        return None
    # The name becomes a file name in the cache directory.
    if "/" in name or name.startswith(".") or "\0" in name:
        log.warning("%s: name %r cannot be a cache file name; skipped", where, name)
        return None
    if "config" not in item:
        log.warning("%s (%s) has no config; skipped", where, name)
        return None
    return name, item["config"]


def merged_deployments(collected: Iterable[tuple[str, Any]], key: str = "deployments") -> list:
    """The `deployments` list os-apply-config would render from these sources, in this order.

    os-apply-config deep-merges the cache files in order and replaces lists, so the last source
    whose root holds a `deployments` list wins.
    """
    deployments: list = []
    for source, content in collected:
        if isinstance(content, dict) and key in content:
            value = content[key]
            if isinstance(value, list):
                deployments = value
            else:
                log.warning("source %s: %r is not a list; ignored", source, key)
    return deployments
