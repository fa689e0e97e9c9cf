"""The idle agent stays lean: a poll that finds nothing to deploy loads no heavy third-party module.

bench/agent_idle.py measures the memory; this pins the cause, so a stray top-level import (requests,
psutil, PyYAML, Jinja2, keystoneauth1...) fails here instead of quietly costing every guest MBs.
Both entry points are checked: `stoker agent --once` and the os-collect-config drop-in
(`python -m collector.cli --one-time`), each polling a loopback server; at exit the child writes
the names in sys.modules (importtime would miss what importlib.import_module loads). The heat
collector (keystone, then Heat's API) is checked too: it used to load keystoneauth1 and requests.
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from collector import config

REPO = Path(__file__).resolve().parents[2]
HEAVY = ("requests", "urllib3", "charset_normalizer", "idna", "certifi", "psutil", "yaml", "jinja2",
         "keystoneauth1", "openstack", "watchdog", "xml")

pytestmark = pytest.mark.timeout(60)


RUN = """
import atexit, json, runpy, sys
out, module, args = sys.argv[1], sys.argv[2], sys.argv[3:]
atexit.register(lambda: json.dump(sorted(sys.modules), open(out, "w")))
sys.argv = [module, *args]
runpy.run_module(module, run_name="__main__", alter_sys=True)
"""


def imported(module, args, root):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HEAT_", "STOKER_"))}
    env["PYTHONPATH"] = str(REPO)
    listing = root / "modules.json"
    out = subprocess.run([sys.executable, "-c", RUN, str(listing), module, *args], cwd=root, env=env,
                         capture_output=True, text=True, timeout=50)
    assert out.returncode == 0, out.stderr[-2000:]
    return set(json.loads(listing.read_text()))


@pytest.mark.parametrize("entry", ["stoker agent", "os-collect-config"])
def test_an_idle_poll_loads_no_heavy_module(entry, tmp_path, http_server):
    http_server.handler = lambda request: (200, {"ETag": '"e1"', "Content-Type": "application/json"},
                                           b'{"deployments": []}')
    conf = tmp_path / "etc/os-collect-config.conf"
    conf.parent.mkdir(parents=True)
    conf.write_text(config.render({"watch": {"metadata_url": http_server.url("/v1/t/servers/s/metadata"),
                                             "auth_token": "tok"}}, collectors=["watch"], command="true"))
    if entry == "stoker agent":
        modules = imported("cli.main", ["agent", "--root", str(tmp_path), "--once"], tmp_path)
    else:
        modules = imported("collector.cli", ["--config-file", str(conf), "--one-time", "--cachedir",
                                             str(tmp_path / "cache"), "--backup-cachedir", str(tmp_path / "backup")],
                           tmp_path)
    assert "collector.watch" in modules and "stoker_common.http_client" in modules  # it did poll
    assert http_server.requests, "the server was not asked"
    heavy = sorted(m for m in modules if m.split(".")[0] in HEAVY)
    assert heavy == []


def test_the_heat_collector_loads_no_heavy_module(tmp_path, http_server):
    def answer(request):
        if request.method == "POST" and request.path == "/v3/auth/tokens":
            catalog = [{"type": "orchestration", "endpoints": [
                {"interface": "public", "region_id": "RegionOne", "url": http_server.url("/heat/v1/p")}]}]
            return 201, {"X-Subject-Token": "tok", "Content-Type": "application/json"}, json.dumps(
                {"token": {"expires_at": "2099-01-01T00:00:00.000000Z", "catalog": catalog}}).encode()
        return 200, {"Content-Type": "application/json"}, b'{"metadata": {"deployments": []}}'

    http_server.handler = answer
    conf = tmp_path / "etc/os-collect-config.conf"
    conf.parent.mkdir(parents=True)
    conf.write_text(config.render({"heat": {"auth_url": http_server.url("/v3"), "user_id": "u", "password": "pw",
                                            "project_id": "p", "stack_id": "s/1", "resource_name": "vm"}},
                                  collectors=["heat"], command="true"))
    modules = imported("cli.main", ["agent", "--root", str(tmp_path), "--once"], tmp_path)
    assert "collector.heat" in modules and "stoker_common.keystone" in modules
    assert [(r.method, r.path) for r in http_server.requests] == [
        ("POST", "/v3/auth/tokens"), ("GET", "/heat/v1/p/stacks/s/1/resources/vm/metadata")]
    heavy = sorted(m for m in modules if m.split(".")[0] in HEAVY)
    assert heavy == []
