"""Which metadata files to read, and their deep merge into one context (os-apply-config's rules).

Files are read in order, the fallback files first (lowest priority, always, whatever upstream's
help text says). Missing files are skipped; unreadable or invalid JSON is an error naming the file
and line. Dicts merge key by key; anything else, lists included, replaces the earlier value, so a
`deployments` list comes whole from the last file that has it. Non-dict roots are ignored.
"""
from __future__ import annotations

import json
import os

from applier.errors import ApplyError

OS_CONFIG_FILES_PATH = "/var/lib/os-collect-config/os_config_files.json"
OS_CONFIG_FILES_PATH_OLD = "/var/run/os-collect-config/os_config_files.json"
FALLBACK_METADATA = [
    "/var/cache/heat-cfntools/last_metadata",
    "/var/lib/heat-cfntools/cfn-init-data",
    "/var/lib/cloud/data/cfn-init-data",
]


def default_list_path(environ=os.environ) -> str:
    return environ.get("OS_CONFIG_FILES_PATH", OS_CONFIG_FILES_PATH)


def metadata_files(explicit: list[str] | None, list_path: str | None, environ=os.environ,
                   warn=lambda message: None) -> list[str]:
    """-m files, else $OS_CONFIG_FILES, else the JSON list os-collect-config writes."""
    if explicit:
        return list(explicit)
    if "OS_CONFIG_FILES" in environ:
        return environ["OS_CONFIG_FILES"].split(":")
    default = default_list_path(environ)
    path = list_path or default
    files = load_file_list(path)
    if not files and path == default:
        warn(f"DEPRECATED: {path} lists no files, falling back to {OS_CONFIG_FILES_PATH_OLD}")
        files = load_file_list(OS_CONFIG_FILES_PATH_OLD)
    return files


def load_file_list(path: str) -> list[str]:
    """The JSON list of metadata paths; a missing file is an empty list."""
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except FileNotFoundError:
        return []
    except OSError as e:
        raise ApplyError(f"{path}: cannot read the metadata file list: {e.strerror}") from None
    value = _parse_json(path, text)
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ApplyError(f"{path}: expected a JSON list of metadata file paths, "
                         f"got {type(value).__name__}")
    return value


def load(files: list[str], fallback: list[str] | None = None) -> dict:
    merged: dict = {}
    for path in list(fallback or []) + list(files):
        if not path:
            continue
        try:
            with open(path, encoding="utf-8") as f:
                text = f.read()
        except FileNotFoundError:
            continue
        except (OSError, UnicodeDecodeError) as e:
            reason = e.strerror if isinstance(e, OSError) else str(e)
            raise ApplyError(f"{path}: cannot read metadata file: {reason}") from None
        value = _parse_json(path, text)
        if value and isinstance(value, dict):
            merged = deep_merge(merged, value)
    return merged


def deep_merge(base: dict, overlay: dict) -> dict:
    """A new dict: `overlay` merged into `base`; neither argument is modified (values are shared,
    not copied: merged metadata is only read)."""
    result = dict(base)
    for key, value in overlay.items():
        if isinstance(result.get(key), dict) and isinstance(value, dict):
            result[key] = deep_merge(result[key], value)
        else:
            result[key] = value
    return result


def subhash(config: dict, dotted: str | None) -> dict:
    """-s a.b: use config["a"]["b"] as the context; every level must be a dict."""
    if not dotted:
        return config
    for key in dotted.split("."):
        if not isinstance(config.get(key), dict):
            raise ApplyError(f"--subhash {dotted}: key '{key}' does not correspond to a hash "
                             "in the metadata")
        config = config[key]
    return config


def _parse_json(path: str, text: str):
    try:
        return json.loads(text)
    except ValueError as e:
        line = getattr(e, "lineno", None)
        where = f"{path}:{line}" if line else path
        raise ApplyError(f"{where}: could not parse metadata file: {e}") from None
