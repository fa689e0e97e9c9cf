"""The user_data a server create through the openstack driver sends to Nova, booted with real
cloud-init: to `status: done`, the agent installed, and the stack's deployment completed.

A real `stoker server --cloud-driver openstack`, with its own agent wheelhouse (gathered once,
see boot_wheelhouse.py), runs a stack (a SOFTWARE_CONFIG server with a
script of the user's own, a config, a deployment to the server) against a loopback cloud
(tests/openstack_cloud.py: Keystone catalog, Nova, Neutron, Glance). The base64 user_data of
the Nova request, as the server sent it over HTTP, is decoded, seeded for NoCloud in a throwaway
root (see conftest.py) and booted: it installs the agent from that server's wheelhouse, pinned,
over the namespace's loopback (the only network there); the agent runs one pass and signals.

Run as a script (`ROOT WORK WHEELHOUSE`), this file is that driver, in the test's namespaces.
"""
from __future__ import annotations

import base64
import email
import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
import requests
import yaml

from boot_nocloud_root import STAGES, boot, chroot_argv, in_namespaces, seed
from boot_wheelhouse import seed_state_dir
from metadata_server.engine.resources.server_user_data import build

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]

NOVA_ID = "c0ffee00-0000-4000-8000-0000000000b0"
PUB, SUB = "9a8b7c6d-1111-4e5f-8a9b-0c1d2e3f4a01", "9a8b7c6d-2222-4e5f-8a9b-0c1d2e3f4a02"
IMAGE = "1d2c3b4a-5555-4f6e-8d7c-6b5a4f3e2d01"
MAC, ADDRESS = "fa:16:3e:5c:01:b0", "172.24.4.176"
NETWORK = {"network": {"id": PUB, "name": "public", "status": "ACTIVE", "subnets": [SUB]}}
# what the server create asks of the cloud, in the shapes of the Nova, Neutron and Glance APIs
EXCHANGES = [
    {"method": "GET", "path": "/compute/v2.1/flavors/2",
     "response": {"flavor": {"id": "2", "name": "m1.small", "ram": 2048, "vcpus": 1, "disk": 20}}},
    {"method": "GET", "path": f"/image/v2/images/{IMAGE}",
     "response": {"id": IMAGE, "name": "debian-12", "status": "active", "visibility": "public"}},
    {"method": "GET", "path": f"/network/v2.0/networks/{PUB}", "response": NETWORK},
    {"method": "POST", "path": "/compute/v2.1/servers",
     "body": {"server": {"flavorRef": "2", "imageRef": IMAGE, "networks": [{"uuid": PUB}],
                         "user_data": "*"}},
     "status": 202, "response": {"server": {"id": NOVA_ID, "OS-DCF:diskConfig": "MANUAL",
                                            "security_groups": [{"name": "default"}]}}},
    {"method": "GET", "path": f"/compute/v2.1/servers/{NOVA_ID}",
     "response": {"server": {"id": NOVA_ID, "name": "guest", "status": "ACTIVE",
                             "accessIPv4": "", "accessIPv6": "", "addresses": {"public": [
                                 {"addr": ADDRESS, "version": 4, "OS-EXT-IPS:type": "fixed",
                                  "OS-EXT-IPS-MAC:mac_addr": MAC}]}}}},
    {"method": "GET", "path": "/network/v2.0/ports", "query": {"device_id": NOVA_ID},
     "response": {"ports": [{"id": "6f5e4d3c-3333-4b2a-9c8d-7e6f5a4b3cb0", "network_id": PUB,
                             "mac_address": MAC, "device_id": NOVA_ID, "status": "ACTIVE",
                             "fixed_ips": [{"subnet_id": SUB, "ip_address": ADDRESS}]}]}},
    {"method": "GET", "path": f"/network/v2.0/networks/{PUB}", "response": NETWORK},
    {"method": "GET", "path": f"/network/v2.0/subnets/{SUB}",
     "response": {"subnet": {"id": SUB, "network_id": PUB, "cidr": "172.24.4.0/24",
                             "ip_version": 4, "gateway_ip": "172.24.4.1"}}},
]
TEMPLATE = {
    "heat_template_version": "2018-08-31",
    "resources": {
        "guest": {"type": "OS::Nova::Server", "properties": {
            "name": "guest", "flavor": "2", "image": IMAGE, "networks": [{"network": PUB}],
            "user_data_format": "SOFTWARE_CONFIG",
            "user_data": "#!/bin/sh\necho users-own > /var/tmp/user-ran\n"}},
        "hello": {"type": "OS::Heat::SoftwareConfig", "properties": {
            "group": "script", "outputs": [{"name": "result"}],
            "config": "#!/bin/sh\necho hello from the guest\n"
                      "printf ok > $heat_outputs_path.result\n"}},
        "deploy": {"type": "OS::Heat::SoftwareDeployment", "properties": {
            "config": {"get_resource": "hello"}, "server": {"get_resource": "guest"},
            "signal_transport": "TEMP_URL_SIGNAL"}}},
    "outputs": {"result": {"value": {"get_attr": ["deploy", "result"]}},
                "stdout": {"value": {"get_attr": ["deploy", "deploy_stdout"]}},
                "address": {"value": {"get_attr": ["guest", "first_address"]}}},
}
AGENT = ("/opt/stoker/venv/bin/stoker agent --once > /var/log/agent-once.log 2>&1; "
         "echo agent-rc=$? >> /var/log/agent-once.log")


def main(root: Path, work: Path, gathered: Path) -> int:
    """Inside the namespaces: the server, the loopback cloud, the boot, one agent pass."""
    sys.path.insert(0, str(REPO))
    from cli.processes import start_server
    from tests.openstack_cloud import Replay
    from tests.waiting import stack_when, until

    replay = Replay(EXCHANGES)
    (work / "clouds.yaml").write_text(yaml.safe_dump({"clouds": {"loopback": replay.cloud()}}))
    os.environ["OS_CLIENT_CONFIG_FILE"] = str(work / "clouds.yaml")
    seed_state_dir(work / "state", gathered)
    token = secrets.token_urlsafe(16)
    server, base = start_server(work / "state", token, work / "server.log", None, "127.0.0.1:0",
                                "--cloud-driver", "openstack", "--os-cloud", "loopback")
    try:
        http = requests.Session()
        http.headers["X-Auth-Token"] = token
        created = http.post(f"{base}/v1/boot/stacks", timeout=10, json={
            "stack_name": "guest", "template": TEMPLATE})
        assert created.status_code == 201, created.text
        url = created.headers["Location"]
        sent = replay.wait_for("POST", "/compute/v2.1/servers", 60)
        user_data = base64.b64decode(sent["body"]["server"]["user_data"]).decode()
        (work / "user-data").write_text(user_data)
        seed(root, user_data)
        booted = subprocess.run(chroot_argv(root, STAGES), timeout=200)
        # one agent pass finds the deployment once the engine has made it
        def deploying() -> bool:
            answer = http.get(f"{url}/resources/deploy", timeout=10)
            return answer.ok and answer.json()["resource"]["resource_status"].endswith(
                "IN_PROGRESS")
        until(deploying, 60, "the deployment to be in progress")
        subprocess.run(chroot_argv(root, AGENT), timeout=120)
        stack = stack_when(http, url, lambda s: s["stack_status"] != "CREATE_IN_PROGRESS", 60)
        print(json.dumps({"boot_rc": booted.returncode, "stack": stack, "base": base,
                          "unexpected": replay.unexpected}))
    finally:
        server.stop()
        replay.close()
    return 0


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_user_data_sent_to_nova_boots_to_a_completed_deployment(throwaway_root,
                                                                agent_wheelhouse, tmp_path):
    pytest.importorskip("openstack", reason="the `openstack` extra is not installed")
    root = throwaway_root
    work = tmp_path / "work"
    work.mkdir()
    done = in_namespaces(root, [sys.executable, __file__, str(root), str(work),
                                str(agent_wheelhouse)], timeout=280)
    log = root / "var/log/boot-stages.log"
    context = ((log.read_text()[-3000:] if log.exists() else "") + done.stderr[-3000:]
               + ((work / "server.log").read_text()[-2000:] if (work / "server.log").exists()
                  else ""))
    assert done.returncode == 0, context
    report = json.loads(done.stdout.strip().splitlines()[-1])

    # what Nova received: one multipart, the user's script then stoker's part, none nested
    message = email.message_from_string((work / "user-data").read_text())
    parts = message.get_payload()
    assert [p.get_content_type() for p in parts] == ["text/x-shellscript", "text/cloud-config"]
    assert not any(p.is_multipart() for p in parts)
    # the agent comes from the server that made the stack, every file pinned
    ours = parts[1].get_payload(decode=True).decode()
    assert f"WHEELHOUSE={report['base']}/wheelhouse/" in ours and "--require-hashes" in ours
    assert "--hash=sha256:" in ours

    # cloud-init took all of it, with no error
    assert report["boot_rc"] == 0, context
    status = (root / "var/log/boot-status.txt").read_text()
    assert "status: done" in status, status + context
    result = json.loads((root / "var/lib/cloud/data/result.json").read_text())
    assert result["v1"]["errors"] == [], result
    assert (root / "var/tmp/user-ran").read_text() == "users-own\n"
    checks = (root / "var/log/boot-checks.txt").read_text()
    assert "/usr/local/bin/stoker -> /opt/stoker/venv/bin/stoker" in checks, checks

    # the agent it installed ran the deployment, and the stack completed
    agent_log = (root / "var/log/agent-once.log").read_text()
    assert "agent-rc=0" in agent_log, agent_log
    stack = report["stack"]
    assert stack["stack_status"] == "CREATE_COMPLETE", (stack["stack_status_reason"], agent_log)
    outputs = {o["output_key"]: o.get("output_value") for o in stack["outputs"]}
    assert outputs == {"result": "ok", "stdout": "hello from the guest\n",
                       "address": ADDRESS}
    assert report["unexpected"] == []



@pytest.mark.timeout(120)
def test_heat_cfntools_user_data_runs_the_users_script_once(throwaway_root):
    """HEAT_CFNTOOLS: the user's script, as its one `cfn-userdata` part, runs at first boot."""
    root = throwaway_root
    script = "#!/bin/sh\necho \"from cfn-userdata $0\" >> /var/tmp/cfn-ran\n"
    done = boot(root, build("HEAT_CFNTOOLS", script), timeout=110)
    context = done.stderr[-2000:] + (root / "var/log/boot-stages.log").read_text()[-2000:]
    status = (root / "var/log/boot-status.txt").read_text()
    assert "status: done" in status, status + context
    result = json.loads((root / "var/lib/cloud/data/result.json").read_text())
    assert result["v1"]["errors"] == [], result
    assert (root / "var/tmp/cfn-ran").read_text() == \
        "from cfn-userdata /var/lib/cloud/instance/scripts/cfn-userdata\n"


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])))
