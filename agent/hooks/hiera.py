"""The `hiera` hook: config `{"hierarchy": [...], "datafiles": {name: data}}`.

Writes the hiera configuration (`$HEAT_HIERA_CONFIG`, default /etc/puppet/hiera.yaml: json backend,
the given hierarchy, the data directory) and one `<datadir>/<name>.json` per datafile. Puppet is
not run; a later puppet deployment reads the data. Upstream refused to run when legacy
os-apply-config hiera data existed; stoker does not check for it.

Run as `python -m agent.hooks.hiera < item.json`.
"""
from __future__ import annotations

import json
import os
import sys
from typing import Any, Mapping


from agent.hooks import base
from agent.hooks.meta import HookMeta
from stoker_common import atomic

meta = HookMeta(group="hiera")


def run(item: dict, env: Mapping[str, str]) -> dict[str, Any]:
    import yaml  # here, not at the top: the hook registry imports this module to read `meta`

    config, failed = base.config_object(item, "an object with hierarchy and datafiles", empty={})
    if failed:
        return failed
    hierarchy = config.get("hierarchy") or []
    datafiles = config.get("datafiles") or {}
    if not isinstance(hierarchy, list) or not isinstance(datafiles, dict):
        return base.result("", "hierarchy must be a list and datafiles an object\n", 1)
    hiera_config = env.get("HEAT_HIERA_CONFIG") or base.under_root(env, "/etc/puppet/hiera.yaml")
    datadir = env.get("HEAT_PUPPET_HIERA_DATADIR") or base.under_root(env, "/etc/puppet/hieradata")
    document = {":backends": ["json"], ":json": {":datadir": datadir}, ":hierarchy": hierarchy}
    atomic.ensure_dir(os.path.dirname(hiera_config), mode=0o755)
    atomic.write_text(hiera_config, yaml.safe_dump(document, default_flow_style=False), mode=0o644)
    atomic.ensure_dir(datadir, mode=0o755)
    written = [hiera_config]
    for name, data in datafiles.items():
        if not name or "/" in name or name.startswith("."):
            return base.result("", f"datafiles: {name!r} is not a file name\n", 1)
        path = os.path.join(datadir, f"{name}.json")
        atomic.write_text(path, json.dumps(data, indent=4, sort_keys=True), mode=0o644)
        written.append(path)
    return base.result("".join(f"wrote {p}\n" for p in written), "", 0)


if __name__ == "__main__":
    sys.exit(base.main(run, "hiera"))
