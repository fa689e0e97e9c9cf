"""The template tree: where it is and which target file each template renders to.

The tree mirrors the target filesystem: `<templates>/etc/foo.conf` renders to `<output>/etc/foo.conf`.
Every file not ending in `.oac` is a template; a `.j2` suffix selects Jinja2 and is dropped from
the target name.
"""
from __future__ import annotations

import logging
import os
from typing import NamedTuple

from applier import control
from applier.errors import ApplyError

DEFAULT_TEMPLATES_DIR = "/usr/libexec/os-apply-config/templates"
LEGACY_TEMPLATES_DIRS = ("/opt/stack/os-apply-config/templates", "/opt/stack/os-config-applier/templates")
JINJA_SUFFIX = ".j2"

log = logging.getLogger("os-apply-config")


class TemplateFile(NamedTuple):
    path: str           # the template on disk
    relative: str       # its path under the template root
    target: str         # the target path relative to the output root
    control_path: str | None


def default_dir(environ=os.environ, isdir=os.path.isdir) -> str:
    """$OS_CONFIG_APPLIER_TEMPLATES, else the standard dir unless only a legacy one exists."""
    if "OS_CONFIG_APPLIER_TEMPLATES" in environ:
        return environ["OS_CONFIG_APPLIER_TEMPLATES"]
    if not isdir(DEFAULT_TEMPLATES_DIR):
        for legacy in LEGACY_TEMPLATES_DIRS:
            if isdir(legacy):
                log.warning("Template directory %s is deprecated; the recommended location is %s",
                            legacy, DEFAULT_TEMPLATES_DIR)
                return legacy
    return DEFAULT_TEMPLATES_DIR


def discover(root: str) -> list[TemplateFile]:
    """Every template under `root`, in a stable order; two templates for one target are an error."""
    found: list[TemplateFile] = []
    by_target: dict[str, str] = {}
    for directory, subdirs, files in os.walk(root):
        subdirs.sort()
        names = set(files)
        for name in sorted(files):
            if name.endswith(control.SUFFIX):
                continue
            path = os.path.join(directory, name)
            relative = os.path.relpath(path, root)
            target = relative[: -len(JINJA_SUFFIX)] if name.endswith(JINJA_SUFFIX) else relative
            if target in by_target:
                raise ApplyError(f"{path}: renders to the same file as {by_target[target]} ({target})")
            by_target[target] = path
            ctrl = path + control.SUFFIX if name + control.SUFFIX in names else None
            found.append(TemplateFile(path, relative, target, ctrl))
    return found
