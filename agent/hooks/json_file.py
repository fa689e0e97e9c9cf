"""The `json-file` hook: config `{"/absolute/path": data, ...}`; each path gets its data as JSON
(indent 4, sorted keys, as upstream), parent directories created. Written atomically (mode 0644,
since these are ordinary config files for other programs).

Run as `python -m agent.hooks.json_file < item.json`.
"""
from __future__ import annotations

import json
import os
import sys
from typing import Any, Mapping

from agent.hooks import base
from agent.hooks.meta import HookMeta
from stoker_common import atomic

meta = HookMeta(group="json-file")


def run(item: dict, env: Mapping[str, str]) -> dict[str, Any]:
    config = item.get("config")
    if isinstance(config, str):
        try:
            config = json.loads(config) if config.strip() else {}
        except ValueError as exc:
            return base.result("", f"config is not JSON: {exc}\n", 1)
    if not isinstance(config, dict):
        return base.result("", f"config must be an object of file path -> data, not {type(config).__name__}\n", 1)
    written, errors = [], []
    for path, data in config.items():
        if not os.path.isabs(path):
            errors.append(f"{path!r}: not an absolute path\n")
            continue
        try:
            atomic.ensure_dir(os.path.dirname(path), mode=0o755)
            atomic.write_text(path, json.dumps(data, indent=4, sort_keys=True), mode=0o644)
        except OSError as exc:
            errors.append(f"{path}: {exc.strerror or exc}\n")
            continue
        written.append(path)
    stdout = "".join(f"wrote {p}\n" for p in written)
    return base.result(stdout, "".join(errors), 1 if errors else 0)


if __name__ == "__main__":
    sys.exit(base.main(run, "json-file"))
