"""A mounted OpenStack config drive (label `config-2`): its metadata files, read-only.

The drive is found at the configured `path`, else wherever /proc/mounts says the device labelled
`config-2` is mounted. Unlike upstream (which ran blkid and mounted the device itself, as root) stoker
only reads a drive that is already mounted: cloud-init or the image mounts it, and the agent needs no
mount privilege.

As a collector (`config_drive`) it yields one key, `config_drive`:
    {"meta_data": openstack/latest/meta_data.json, "network_data": ..., "vendor_data": ...,
     "ec2": ec2/latest/meta-data.json}
with the files that exist. The ec2 collector uses `ec2_metadata()` in preference to HTTP, as upstream.
"""
from __future__ import annotations

import json
import os
from typing import Any, ClassVar, Mapping

from collector.base import Collector, Option
from collector.errors import SourceNotAvailable

LABEL = "config-2"
BY_LABEL = "/dev/disk/by-label/" + LABEL
FILES = {
    "meta_data": "openstack/latest/meta_data.json",
    "network_data": "openstack/latest/network_data.json",
    "vendor_data": "openstack/latest/vendor_data.json",
    "vendor_data2": "openstack/latest/vendor_data2.json",
    "ec2": "ec2/latest/meta-data.json",
}


def find_mount(proc_mounts: str = "/proc/mounts", by_label: str = BY_LABEL) -> str | None:
    """Where the config drive is mounted, if it is."""
    try:
        device = os.path.realpath(by_label) if os.path.lexists(by_label) else None
        with open(proc_mounts, encoding="utf-8") as f:
            lines = f.read().splitlines()
    except OSError:
        return None
    candidates = {f"LABEL={LABEL}", by_label} | ({device} if device else set())
    for line in lines:
        fields = line.split()
        if len(fields) < 2:
            continue
        source, target = fields[0], _unescape(fields[1])
        if source in candidates:
            return target
    return None


def read(root: str) -> dict[str, Any]:
    """The metadata files present under a mounted drive; a malformed one is an error naming it."""
    found: dict[str, Any] = {}
    for key, relative in FILES.items():
        path = os.path.join(root, relative)
        if not os.path.isfile(path):
            continue
        try:
            with open(path, encoding="utf-8") as f:
                found[key] = json.load(f)
        except OSError as exc:
            raise SourceNotAvailable(f"cannot read {path}: {exc.strerror}") from None
        except ValueError as exc:
            raise SourceNotAvailable(f"{path} is not valid JSON: {exc}") from None
    return found


def ec2_metadata(path: str | None = None) -> dict | None:
    """ec2/latest/meta-data.json from the drive, or None when there is no drive or no such file."""
    root = path or find_mount()
    if not root:
        return None
    try:
        data = read(root).get("ec2")
    except SourceNotAvailable:
        return None
    return data if isinstance(data, dict) and data else None


class ConfigDriveCollector(Collector):
    name: ClassVar[str] = "config_drive"
    options: ClassVar[Mapping[str, Option]] = {
        "path": Option(str, None, "where the config drive is mounted (default: found in /proc/mounts)"),
    }
    explodes_deployments: ClassVar[bool] = False

    def __init__(self, settings: Mapping[str, Any]):
        self.path = settings.get("path")

    def collect(self) -> list[tuple[str, Any]]:
        root = self.path or find_mount()
        if not root:
            raise SourceNotAvailable(f"no config drive: no [config_drive] path and no {LABEL} device mounted")
        if not os.path.isdir(root):
            raise SourceNotAvailable(f"config drive directory {root} does not exist")
        found = read(root)
        if not found:
            raise SourceNotAvailable(f"{root} holds none of {', '.join(FILES.values())}")
        return [(self.name, found)]


def _unescape(field: str) -> str:
    # /proc/mounts writes space, tab, newline and backslash as octal escapes.
    return field.replace("\\040", " ").replace("\\011", "\t").replace("\\012", "\n").replace("\\134", "\\")
