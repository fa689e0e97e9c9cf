"""The real cfn-init (heat-cfntools from PyPI) reads a stack resource's AWS::CloudFormation::Init
metadata through stoker's CFN API (DescribeStackResource, boto's signature v4 with the server's
key pair) and applies it: packages (apt, a local .deb), groups, users, files (content, source,
mode, owner, group), commands (order, env, cwd, test, ignoreErrors) and configSets.

cfn-init runs in tests/cfntools.py's sandbox (/etc and /var overlaid in a private mount
namespace), so what it writes and installs lands in the test's directory. Services are not run
here: cfn-init drives them through /bin/systemctl or /sbin/service, which act on the machine's
real init system (this one has none under the test), never on the sandbox.
"""
from __future__ import annotations

import json
import pwd
import secrets
import shutil
import subprocess
from pathlib import Path

import pytest
import requests

from cli.processes import start_server
from tests.cfntools import (cfntools_bin, clean_env, point_at_server, recording_init_script,
                            sandbox)
from tests.waiting import stack_when

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

INIT = {
    "configSets": {"default": ["base"], "broken": ["base", "failing"]},
    "base": {
        "packages": {"apt": {"{deb}": []}},
        "groups": {"stokercfnops": {"gid": "4321"}},
        "users": {"stokercfn": {"groups": ["stokercfnops"], "uid": "4321",
                                "homeDir": "/var/lib/stokercfn"}},
        "files": {
            "/etc/stoker-cfn/app.conf": {"content": {"str_replace": {
                "template": "port=PORT\n", "params": {"PORT": {"get_param": "port"}}}},
                "mode": "000640", "owner": "stokercfn", "group": "stokercfnops"},
            "/etc/stoker-cfn/versions.json": {"source": "{base}/"},
            "/etc/init.d/stoker-cfn-svc": {"content": recording_init_script("stoker-cfn-svc"),
                                           "mode": "000755"},
        },
        "commands": {
            "02_second": {"command": ["sh", "-c", "echo \"second $GREETING $(pwd)\" >> order"],
                          "env": {"GREETING": "hello"}, "cwd": "/var/lib/stoker-cfn"},
            "01_first": {"command": "mkdir -p /var/lib/stoker-cfn && echo first >> "
                                    "/var/lib/stoker-cfn/order"},
            "03_skipped": {"command": "touch /var/lib/stoker-cfn/skipped", "test": "false"},
            "04_ignored": {"command": "exit 3", "ignoreErrors": "true"},
        },
        "services": {"sysvinit": {"stoker-cfn-svc": {"enabled": "true", "ensureRunning": "true"}}},
    },
    "failing": {"commands": {"01_fail": {"command": "echo broken >&2; exit 7"}}},
}


def template(init: dict) -> dict:
    return {
        "heat_template_version": "2018-08-31",
        "parameters": {"port": {"type": "number", "default": 8080}},
        "resources": {
            "server": {"type": "OS::Nova::Server",
                       "metadata": {"AWS::CloudFormation::Init": init},
                       "properties": {"flavor": "m1.small", "image": "any",
                                      "user_data_format": "SOFTWARE_CONFIG"}},
            "other": {"type": "OS::Heat::None", "metadata": {"secret": "not the server's"}},
        },
        "outputs": {"cfn": {"value": {"get_attr": ["server", "os_collect_config", "cfn"]}}},
    }


def build_deb(tmp_path: Path) -> Path:
    """A package with one file under /etc, so installing it touches only the sandbox."""
    if shutil.which("dpkg-deb") is None or shutil.which("apt-get") is None:
        pytest.skip("the packages case needs dpkg-deb and apt-get (a Debian-family machine)")
    tree = tmp_path / "deb"
    (tree / "DEBIAN").mkdir(parents=True)
    (tree / "DEBIAN" / "control").write_text(
        "Package: stoker-cfn-test\nVersion: 1.0\nArchitecture: all\n"
        "Maintainer: stoker tests <tests@example.invalid>\nDescription: cfn-init packages case\n")
    (tree / "etc" / "stoker-cfn-pkg").mkdir(parents=True)
    (tree / "etc" / "stoker-cfn-pkg" / "installed").write_text("by apt\n")
    deb = tmp_path / "stoker-cfn-test_1.0_all.deb"
    subprocess.run(["dpkg-deb", "--root-owner-group", "--build", str(tree), str(deb)],
                   check=True, capture_output=True, timeout=60)
    return deb


@pytest.fixture(scope="module")
def bin_dir():
    return cfntools_bin()


@pytest.fixture
def box(tmp_path):
    found = sandbox(tmp_path / "sandbox", without_systemd=True)
    yield found
    found.cleanup()


@pytest.fixture
def stack(tmp_path):
    """A real server with a stack whose Nova server carries the Init metadata; yields
    (base URL, its cfn collector settings)."""
    token = secrets.token_hex(16)
    server, base = start_server(tmp_path / "server", token, tmp_path / "server.log")
    session = requests.Session()
    session.headers["X-Auth-Token"] = token
    try:
        init = json.loads(json.dumps(INIT).replace("{deb}", str(build_deb(tmp_path)))
                          .replace("{base}", base))
        response = session.post(f"{base}/v1/t1/stacks", json={"stack_name": "cfninit",
                                                             "template": template(init)}, timeout=10)
        assert response.status_code == 201, response.text
        found = stack_when(session, response.headers["Location"],
                           lambda s: s["stack_status"] != "CREATE_IN_PROGRESS")
        assert found["stack_status"] == "CREATE_COMPLETE", found["stack_status_reason"]
        [cfn] = [o["output_value"] for o in found["outputs"] if o["output_key"] == "cfn"]
        yield base, cfn
    finally:
        assert server.stop() == 0
    assert "Traceback" not in server.log()


def cfn_init(box, bin_dir, base: str, cfn: dict, *extra: str, resource: str = "server"):
    """cfn-init as a Heat image runs it: the endpoint from cfn-boto-cfg, the port from
    cfn-metadata-server (Heat's user-data parts, written into the sandbox)."""
    point_at_server(box, base)
    argv = [str(bin_dir / "cfn-init"), "-s", cfn["stack_name"], "-r", resource,
            "--access-key", cfn["access_key_id"], "--secret-key", cfn["secret_access_key"], *extra]
    return subprocess.run(box.argv(*argv), env=clean_env(bin_dir), capture_output=True, text=True,
                          timeout=180)


def test_cfn_init_applies_a_resources_init_metadata(box, bin_dir, stack):
    done = cfn_init(box, bin_dir, *stack)
    log = box.path("/var/log/cfn-init.log").read_text()
    assert done.returncode == 0, done.stdout + done.stderr + log
    # packages: apt installed the local package, into the sandbox's /etc and dpkg database
    assert box.path("/etc/stoker-cfn-pkg/installed").read_text() == "by apt\n"
    assert "stoker-cfn-test" in box.path("/var/lib/dpkg/status").read_text()
    # groups and users, in the sandbox's /etc
    assert "stokercfnops:x:4321:stokercfn\n" in box.path("/etc/group").read_text()
    [user] = [line for line in box.path("/etc/passwd").read_text().splitlines()
              if line.startswith("stokercfn:")]
    assert user.split(":")[2] == "4321" and user.endswith(":/var/lib/stokercfn:/sbin/nologin")
    # files: the metadata's template function was resolved by the server; mode and owner
    conf = box.path("/etc/stoker-cfn/app.conf")
    assert conf.read_text() == "port=8080\n"
    assert oct(conf.stat().st_mode & 0o777) == "0o640"
    assert (conf.stat().st_uid, conf.stat().st_gid) == (4321, 4321)
    assert "versions" in json.loads(box.path("/etc/stoker-cfn/versions.json").read_text())
    # commands: by name, with env and cwd; a false test skips; ignoreErrors lets it pass
    order = box.path("/var/lib/stoker-cfn/order").read_text().splitlines()
    assert order == ["first", "second hello /var/lib/stoker-cfn"]
    assert not box.path("/var/lib/stoker-cfn/skipped").exists()
    assert "04_ignored has failed (status=3). Explicit ignoring" in log
    # services (sysvinit): started because its status said stopped; `enabled` runs
    # `update-rc.d <name> enable`, which on Debian only re-enables existing rc links
    assert box.path("/var/lib/stoker-cfn-svc/calls").read_text().split() == ["status", "start"]
    assert box.path("/var/lib/stoker-cfn-svc/running").exists()
    # the metadata cfn-init read: the template's Init merged with the server's document
    cached = json.loads(box.path("/var/cache/heat-cfntools/last_metadata_server").read_text())
    assert cached["AWS::CloudFormation::Init"]["base"]["files"]["/etc/stoker-cfn/app.conf"][
        "content"] == "port=8080\n"
    assert cached["os-collect-config"]["cfn"]["stack_name"] == "cfninit"
    assert oct(box.path("/var/cache/heat-cfntools/last_metadata").stat().st_mode & 0o777) == "0o600"
    # nothing reached the machine's own /etc
    assert not Path("/etc/stoker-cfn").exists()
    with pytest.raises(KeyError):
        pwd.getpwnam("stokercfn")


def test_a_failing_command_of_a_chosen_config_set_fails_cfn_init(box, bin_dir, stack):
    # (a set that includes another, {"ConfigSet": name}, fails in heat-cfntools 2.0.0 on
    # Python 3: dict_keys has no pop)
    done = cfn_init(box, bin_dir, *stack, "-c", "broken")
    log = box.path("/var/log/cfn-init.log").read_text()
    assert done.returncode == 1, done.stdout + done.stderr + log
    assert "01_fail has failed" in log
    order = box.path("/var/lib/stoker-cfn/order").read_text()
    assert order == "first\nsecond hello /var/lib/stoker-cfn\n"


def test_a_servers_key_reads_no_other_resource(box, bin_dir, stack):
    done = cfn_init(box, bin_dir, *stack, resource="other")
    assert done.returncode != 0
    assert "AccessDenied" in done.stdout + done.stderr
    assert not box.path("/var/cache/heat-cfntools/last_metadata").exists()


def test_cfn_get_metadata_prints_a_key_with_a_credential_file(box, bin_dir, stack):
    base, cfn = stack
    point_at_server(box, base)
    credentials = box.path("/etc/cfn/cfn-credentials")
    credentials.parent.mkdir(parents=True)
    credentials.write_text(f"AWSAccessKeyId={cfn['access_key_id']}\n"
                           f"AWSSecretKey={cfn['secret_access_key']}\n")
    argv = [str(bin_dir / "cfn-get-metadata"), "-s", "cfninit", "-r", "server",
            "--credential-file", "/etc/cfn/cfn-credentials",
            "-k", "AWS::CloudFormation::Init.base.commands.01_first"]
    done = subprocess.run(box.argv(*argv), env=clean_env(bin_dir), capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert json.loads(done.stdout) == INIT["base"]["commands"]["01_first"]
