"""The agent's systemd unit, as text. The same file is shipped in systemd/stoker-agent.service
(for images built with the elements); a test keeps the two identical."""
from __future__ import annotations

DEFAULT_VENV = "/opt/stoker/venv"


def agent_unit(venv: str = DEFAULT_VENV) -> str:
    return f"""\
# stoker's in-guest agent: collects this server's deployments, runs them through hooks and
# signals the results. Reads /etc/os-collect-config.conf. Logs to stderr, which journald keeps
# (`journalctl -u stoker-agent`); the agent adds no timestamps of its own that matter here.
[Unit]
Description=stoker agent (software deployments for this server)
Documentation=https://github.com/stoker/stoker/blob/main/docs/operations.md
Wants=network-online.target
After=network-online.target cloud-final.service
ConditionPathExists=/etc/os-collect-config.conf

[Service]
Type=simple
ExecStart={venv}/bin/stoker agent
Restart=on-failure
RestartSec=5
# SIGTERM reaches the agent alone, which stops a running hook within its own grace period;
# anything left is killed when TimeoutStopSec runs out
KillMode=mixed
TimeoutStopSec=30
Environment=PYTHONUNBUFFERED=1
StandardOutput=journal
StandardError=journal
SyslogIdentifier=stoker-agent

[Install]
WantedBy=multi-user.target
"""
