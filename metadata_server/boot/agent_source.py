"""Where a SOFTWARE_CONFIG server's agent comes from, as the engine decides it at server create
(engine/resources/server_user_data.py): the operator's index when one is configured
(STOKER_AGENT_*), else this server's own wheelhouse (gathered on first use), pinned by hash."""
from __future__ import annotations

import os
from typing import Mapping

from metadata_server.boot import wheelhouse
from metadata_server.boot.bootstrap import AgentInstall, BootConfigError, WheelhouseInstall
from metadata_server.boot.units import DEFAULT_VENV


def agent_install(base_url: str, environ: Mapping[str, str] = os.environ) -> AgentInstall:
    if AgentInstall.configured(environ):
        return AgentInstall.from_env(environ)
    found = wheelhouse.current()
    if found is None:
        raise BootConfigError("no agent wheelhouse is configured in this process (`stoker "
                              "server` keeps one in STATE_DIR/wheelhouse), and no package "
                              "index is named (STOKER_AGENT_INDEX_URL)")
    try:
        manifest = found.ensure()
    except (wheelhouse.WheelhouseError, OSError) as exc:
        raise BootConfigError(f"the agent wheelhouse in {found.directory} could not be "
                              f"gathered: {exc}. Run `stoker wheelhouse` where an index is "
                              "reachable, or name one with STOKER_WHEELHOUSE_INDEX_URL") from None
    return AgentInstall(venv=environ.get("STOKER_AGENT_VENV") or DEFAULT_VENV,
                        wheelhouse=WheelhouseInstall.from_manifest(base_url, manifest))
