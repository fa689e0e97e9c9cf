"""Runs inside the test's namespaces (see boot_nocloud_root.py), outside the chroot: a real
`stoker server` on the namespace's own loopback, a registered server with one deployment, the
user_data stoker generates for it seeded for NoCloud, every boot stage in the chroot, then one
pass of the agent that boot installed. Prints one JSON line: the deployment as the server sees it.

The agent comes from the server's own wheelhouse over HTTP (a copy of the gathered one, see
boot_wheelhouse.py), pinned by hash, as a server of stoker's would write it: the namespace has
no route anywhere but its loopback, so nothing else could be reached.

argv: ROOT WORKDIR USER_CLOUD_CONFIG_FILE GATHERED_WHEELHOUSE
"""
from __future__ import annotations

import json
import secrets
import subprocess
import sys
from pathlib import Path

import requests

from boot_nocloud_root import STAGES, chroot_argv, seed
from boot_wheelhouse import pinned_install, seed_state_dir
from cli.processes import start_server
from metadata_server.boot.userdata import AgentSettings, user_data

SCRIPT = "#!/bin/sh\necho hello from the guest\nprintf ok > $heat_outputs_path.result\n"


def main() -> int:
    root, work, users = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
    state_wheelhouse = seed_state_dir(work / "state", Path(sys.argv[4]))
    token = secrets.token_urlsafe(16)
    server, base = start_server(work / "state", token, work / "server.log")
    try:
        http = requests.Session()
        http.headers["X-Auth-Token"] = token
        api = f"{base}/v1/boot"
        registered = http.post(f"{api}/servers", json={"name": "guest"}, timeout=10).json()
        config = http.post(f"{api}/software_configs", json={
            "name": "hello", "group": "script", "config": SCRIPT,
            "outputs": [{"name": "result"}]}, timeout=10).json()["software_config"]
        deployment = http.post(f"{api}/software_deployments", json={
            "config_id": config["id"], "server_id": registered["server"]["id"],
            "signal_transport": "TEMP_URL_SIGNAL", "name": "hello"},
            timeout=10).json()["software_deployment"]
        settings = AgentSettings.from_agent_config(registered["agent_config"])
        install = pinned_install(base, state_wheelhouse)
        text = user_data(settings, install, user_data=users.read_text())
        seed(root, text)
        (work / "token").write_text(registered["agent_config"]["auth_token"])
        agent = ("/opt/stoker/venv/bin/stoker agent --once > /var/log/agent-once.log 2>&1; "
                 "echo agent-rc=$? >> /var/log/agent-once.log\n"
                 # the repair the docs offer: the pinned install again, from the same server
                 "/usr/local/sbin/stoker-bootstrap --upgrade > /var/log/bootstrap-again.log 2>&1; "
                 "echo again-rc=$? >> /var/log/bootstrap-again.log")
        booted = subprocess.run(chroot_argv(root, STAGES + agent), timeout=200)
        final = http.get(f"{api}/software_deployments/{deployment['id']}",
                         timeout=10).json()["software_deployment"]
        seen = http.get(f"{api}/servers/{registered['server']['id']}",
                        timeout=10).json()["server"]
        print(json.dumps({"boot_rc": booted.returncode, "deployment": final, "server": seen,
                          "user_data_bytes": len(text.encode())}))
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
