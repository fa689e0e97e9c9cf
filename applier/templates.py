"""The template tree: where it is and which target file each template renders to.

The tree mirrors the target filesystem: `<templates>/etc/foo.conf` renders to `<output>/etc/foo.conf`.
Every file not ending in `.oac` is a template; a `.j2` suffix selects Jinja2 and is dropped from
the target name.
"""
from __future__ import annotations

import os
from collections import namedtuple

from applier import control, log
from applier.errors import ApplyError

DEFAULT_TEMPLATES_DIR = "/usr/libexec/os-apply-config/templates"
LEGACY_TEMPLATES_DIRS = ("/opt/stack/os-apply-config/templates", "/opt/stack/os-config-applier/templates")
JINJA_SUFFIX = ".j2"


# path: the template on disk; relative: its path under the template root; target: the target path
# relative to the output root; control_path: its .oac file or None. (collections.namedtuple: typing
# costs ~2 ms per start.)
TemplateFile = namedtuple("TemplateFile", "path relative target control_path")


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
    """Every template under `root`, in a stable order; two templates for one target are an error.

    The order is os.walk's, top-down with names sorted: a directory's files, then its
    subdirectories one after another. Symlinks to directories are not followed; unreadable
    directories are skipped (as os.walk does).
    """
    found: list[TemplateFile] = []
    by_target: dict[str, str] = {}
    _walk(root, "", found, by_target)
    return found


def _walk(directory: str, relative_dir: str, found: list, by_target: dict) -> None:
    try:
        with os.scandir(directory) as it:
            entries = list(it)
    except OSError:
        return
    files, subdirs = [], []
    for entry in entries:
        try:
            is_dir = entry.is_dir()
            if is_dir and entry.is_symlink():
                continue  # listed by os.walk as a directory, but not walked into
        except OSError:
            is_dir = False
        (subdirs if is_dir else files).append(entry.name)
    names = set(files)
    for name in sorted(files):
        if name.endswith(control.SUFFIX):
            continue
        path = os.path.join(directory, name)
        relative = relative_dir + name
        target = relative[: -len(JINJA_SUFFIX)] if name.endswith(JINJA_SUFFIX) else relative
        if target in by_target:
            raise ApplyError(f"{path}: renders to the same file as {by_target[target]} ({target})")
        by_target[target] = path
        ctrl = path + control.SUFFIX if name + control.SUFFIX in names else None
        found.append(TemplateFile(path, relative, target, ctrl))
    for name in sorted(subdirs):
        _walk(os.path.join(directory, name), relative_dir + name + os.sep, found, by_target)
