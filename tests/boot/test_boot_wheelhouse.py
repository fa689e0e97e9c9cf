"""The server's agent wheelhouse: what it gathers and when, the hash-pinned requirements it
makes, and the unauthenticated route that serves it. Offline: pip's downloads are replaced by a
fake that writes wheel-named files (the real gathering runs in the boot tests)."""
from __future__ import annotations

import hashlib
import importlib.metadata
import io
import threading
import zipfile
from pathlib import Path

import pytest
import yaml

from metadata_server.boot import agent_wheel, wheelhouse
from metadata_server.boot.agent_source import agent_install
from metadata_server.boot.bootstrap import BootConfigError
from metadata_server.boot.wheelhouse import (Target, Wheelhouse, agent_requirements,
                                             requirements_text, supported_targets)

REPO = Path(__file__).resolve().parents[2]
T39, T313 = Target("3.9", "x86_64"), Target("3.13", "aarch64")
METADATA = """\
Metadata-Version: 2.1
Name: stoker
Version: 0.1.0
Requires-Python: >=3.9
Requires-Dist: requests>=2.28
Requires-Dist: tomli>=2; python_version < "3.11"
Requires-Dist: flask>=3.0; extra == "server"
Requires-Dist: psutil>=5.9; platform_machine == "x86_64"
"""


def test_agent_requirements_leave_out_the_servers_extras_and_judge_markers_per_target():
    assert agent_requirements(METADATA, T39) == ["requests>=2.28", "tomli>=2", "psutil>=5.9"]
    assert agent_requirements(METADATA, T313) == ["requests>=2.28"]


def test_targets_are_the_pythons_requires_python_accepts():
    assert supported_targets(METADATA) == wheelhouse.TARGETS
    newer = METADATA.replace(">=3.9", ">=3.11")
    assert {t.python for t in supported_targets(newer)} == {"3.11", "3.12", "3.13"}
    with pytest.raises(wheelhouse.WheelhouseError, match="accepts none"):
        supported_targets(METADATA.replace(">=3.9", ">=4"))


def entry(sha: str, *targets: Target) -> dict:
    return {"sha256": sha * 64, "size": 1, "targets": [str(t) for t in targets]}


def test_requirements_pin_every_file_and_mark_versions_that_differ_between_targets():
    files = {"idna-3.21-py3-none-any.whl": entry("a", T39, T313),
             "PyYAML-6.0.3-cp39-cp39-manylinux_2_28_x86_64.whl": entry("b", T39),
             "pyyaml-6.0.3-cp313-cp313-manylinux_2_28_aarch64.whl": entry("c", T313),
             "pip-25.0-py3-none-any.whl": entry("d", T39),
             "pip-26.3-py3-none-any.whl": entry("e", T313)}
    assert requirements_text(files, (T39, T313)) == (
        f"idna==3.21 \\\n    --hash=sha256:{'a' * 64}\n"
        f'pip==25.0 ; (python_version == "3.9" and platform_machine == "x86_64") \\\n'
        f"    --hash=sha256:{'d' * 64}\n"
        f'pip==26.3 ; (python_version == "3.13" and platform_machine == "aarch64") \\\n'
        f"    --hash=sha256:{'e' * 64}\n"
        f"pyyaml==6.0.3 \\\n    --hash=sha256:{'b' * 64} \\\n    --hash=sha256:{'c' * 64}\n")


def test_the_agent_wheel_is_the_running_code_byte_for_byte_and_reproducible():
    name, data = agent_wheel.build_agent_wheel()
    version = importlib.metadata.version("stoker")
    assert name == f"stoker-{version}-py3-none-any.whl"
    assert agent_wheel.build_agent_wheel()[1] == data
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = archive.namelist()
        assert archive.read("agent/loop.py") == (REPO / "agent/loop.py").read_bytes()
        assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
        info = f"stoker-{version}.dist-info"
        assert "stoker = cli.main:main" in archive.read(f"{info}/entry_points.txt").decode()
        record = archive.read(f"{info}/RECORD").decode().splitlines()
        assert len(record) == len(names) and f"{info}/RECORD,," in record


class FakeIndex:
    """Stands in for `pip download`: one wheel per requirement, tagged for the target."""

    def __init__(self):
        self.calls: list[tuple[str, tuple[str, ...]]] = []
        self.lock = threading.Lock()

    def __call__(self, target, requirements, dest, sources):
        with self.lock:
            self.calls.append((str(target), tuple(requirements)))
        dest.mkdir(parents=True, exist_ok=True)
        for requirement in requirements:
            name = requirement.split("=")[0].split(">")[0].split("<")[0].replace("-", "_")
            if name == "pip":
                (dest / "pip-26.3-py3-none-any.whl").write_bytes(b"pip")
            elif name == "pyyaml":   # a compiled one: a file per target
                abi = "cp" + target.python.replace(".", "")
                (dest / f"pyyaml-6.0.3-{abi}-{abi}-manylinux_2_28_{target.machine}.whl"
                 ).write_bytes(str(target).encode())
            else:
                (dest / f"{name}-1.0-py3-none-any.whl").write_bytes(name.encode())


@pytest.fixture
def fake_index(monkeypatch):
    index = FakeIndex()
    monkeypatch.setattr(wheelhouse, "_download", index)
    return index


def test_gathers_once_then_refreshes_only_the_agent_wheel(tmp_path, fake_index, monkeypatch):
    directory = tmp_path / "wheelhouse"
    first = Wheelhouse(directory)
    manifest = first.ensure()
    assert len(fake_index.calls) == len(supported_targets(_running_metadata()))
    # pip is pinned to the oldest Python's release for every other target
    assert all(call[1][-1] == "pip==26.3" for call in fake_index.calls[1:])
    assert (directory.stat().st_mode & 0o777) == 0o700
    files = manifest["files"]
    assert manifest["pip"] == "pip-26.3-py3-none-any.whl" and manifest["agent"] in files
    for name, item in files.items():
        data = (directory / "files" / name).read_bytes()
        assert hashlib.sha256(data).hexdigest() == item["sha256"]
        assert ((directory / "files" / name).stat().st_mode & 0o777) == 0o600
        assert f"--hash=sha256:{item['sha256']}" in manifest["requirements"]

    # another process (a restart, a gunicorn worker) reuses what is there
    calls = len(fake_index.calls)
    assert Wheelhouse(directory).ensure() == manifest and len(fake_index.calls) == calls
    # new code, same requirements: only the agent wheel and its hash change
    name, data = agent_wheel.build_agent_wheel()
    monkeypatch.setattr(wheelhouse, "build_agent_wheel", lambda: (name, data + b"\0"))
    updated = Wheelhouse(directory).ensure()
    assert len(fake_index.calls) == calls
    assert updated["files"][name]["sha256"] == hashlib.sha256(data + b"\0").hexdigest()
    assert {n: e for n, e in updated["files"].items() if n != name} == \
        {n: e for n, e in files.items() if n != name}
    # a process that had it ready pins what is on disk now, not what it saw before
    assert first.ensure() == first.manifest() == updated
    # a dependency gone from the disk: gathered again
    (directory / "files" / "pip-26.3-py3-none-any.whl").unlink()
    calls = len(fake_index.calls)
    assert Wheelhouse(directory).ensure()["files"] == updated["files"]
    assert len(fake_index.calls) > calls
    assert (directory / "files" / "pip-26.3-py3-none-any.whl").is_file()
    calls = len(fake_index.calls)
    # other targets: gathered again, and files no target uses any more are removed
    only = (Target("3.12", "x86_64"),)
    smaller = Wheelhouse(directory, targets=only).ensure()
    assert len(fake_index.calls) == calls + 1
    assert smaller["targets"] == ["cp3.12-x86_64"]
    assert sorted(p.name for p in (directory / "files").iterdir()) == sorted(smaller["files"])


def _running_metadata() -> str:
    return importlib.metadata.distribution("stoker").read_text("METADATA") or \
        importlib.metadata.distribution("stoker").read_text("PKG-INFO")


def test_a_failed_gather_is_an_error_naming_the_index_and_leaves_nothing(tmp_path, monkeypatch):
    def refuse(target, requirements, dest, sources):
        raise wheelhouse.WheelhouseError(f"pip could not download for {target} from PyPI: nope")
    monkeypatch.setattr(wheelhouse, "_download", refuse)
    found = Wheelhouse(tmp_path / "wh")
    wheelhouse.use(found)
    try:
        with pytest.raises(BootConfigError, match="could not be gathered: pip could not "
                                                  "download .* STOKER_WHEELHOUSE_INDEX_URL"):
            agent_install("http://stoker.example:8004", environ={})
    finally:
        wheelhouse.use(None)
    assert found.manifest() is None and not list((tmp_path / "wh").glob(".gather-*"))


def test_the_default_install_is_the_servers_wheelhouse_and_an_index_only_when_named(
        tmp_path, fake_index):
    wheelhouse.use(Wheelhouse(tmp_path / "wh"))
    try:
        install = agent_install("https://stoker.example:8004/", environ={})
        assert install.wheelhouse.url == "https://stoker.example:8004/wheelhouse/"
        assert install.wheelhouse.pip_wheel == "pip-26.3-py3-none-any.whl"
        named = agent_install("https://x/", {"STOKER_AGENT_INDEX_URL": "https://idx/simple"})
        assert named.wheelhouse is None and named.index_url == "https://idx/simple"
    finally:
        wheelhouse.use(None)
    with pytest.raises(BootConfigError, match="no agent wheelhouse is configured"):
        agent_install("https://x/", environ={})


def test_drivers_whose_servers_never_boot_get_the_users_user_data_alone():
    from metadata_server.engine.drivers import FakeDriver, LocalDriver
    from metadata_server.engine.resources.server_user_data import build

    def no_install():
        raise AssertionError("the agent install was asked for")
    watch = {"metadata_url": "http://h/m", "auth_token": "t"}
    for driver in (FakeDriver, LocalDriver):
        assert build("SOFTWARE_CONFIG", "#!/bin/sh\n", watch=watch, install=no_install,
                     boots=driver.boots_user_data) == "#!/bin/sh\n"


# -- the route ---------------------------------------------------------------------------------
@pytest.fixture
def served(tmp_path, fake_index):
    from metadata_server.app import create_app
    from metadata_server.store import open_store

    found = Wheelhouse(tmp_path / "wh")
    manifest = found.ensure()
    wheelhouse.use(found)
    store = open_store(f"sqlite:///{tmp_path / 'stoker.db'}")
    try:
        yield create_app(store, "unused-hash").test_client(), manifest
    finally:
        wheelhouse.use(None)
        store.engine.dispose()


def test_the_index_lists_every_file_with_its_hash_and_needs_no_token(served):
    client, manifest = served
    page = client.get("/wheelhouse/")
    assert page.status_code == 200 and page.mimetype == "text/html"
    for name, item in manifest["files"].items():
        assert f'<a href="{name}#sha256={item["sha256"]}">' in page.text
    assert client.get("/wheelhouse/", headers={"If-None-Match": page.headers["ETag"]}
                      ).status_code == 304
    assert client.get("/wheelhouse/requirements.txt").text == manifest["requirements"]


def test_files_are_served_by_exact_name_with_their_hash_as_etag(served, tmp_path):
    client, manifest = served
    name = manifest["pip"]
    got = client.get(f"/wheelhouse/{name}")
    assert got.status_code == 200 and got.data == b"pip"
    assert got.headers["ETag"].strip('"') == manifest["files"][name]["sha256"]
    assert client.get(f"/wheelhouse/{name}", headers={"If-None-Match": got.headers["ETag"]}
                      ).status_code == 304
    (tmp_path / "wh" / "secret").write_text("no")
    for path in ("/wheelhouse/manifest.json", "/wheelhouse/..%2Fmanifest.json",
                 "/wheelhouse/%2e%2e/wh/secret", "/wheelhouse/../stoker.db",
                 "/wheelhouse/files%2Fpip-26.3-py3-none-any.whl", "/wheelhouse/.lock"):
        answer = client.get(path)
        assert answer.status_code == 404, path
        assert b"no" != answer.data
    assert client.post(f"/wheelhouse/{name}").status_code == 405


def test_downloads_at_once_are_bounded_and_the_next_is_asked_to_retry(served, monkeypatch):
    from metadata_server.api import wheelhouse as route
    client, manifest = served
    monkeypatch.setattr(route, "_downloads", threading.BoundedSemaphore(1))
    held = client.get(f"/wheelhouse/{manifest['pip']}", buffered=False)
    busy = client.get(f"/wheelhouse/{manifest['pip']}")
    assert busy.status_code == 503 and busy.headers["Retry-After"] == str(route.RETRY_AFTER)
    held.close()     # the slot comes back when the response is done
    etag = {"If-None-Match": held.headers["ETag"]}
    for _ in range(3):   # a 304 sends no file and takes no slot
        with client.get(f"/wheelhouse/{manifest['pip']}", headers=etag) as unchanged:
            assert unchanged.status_code == 304
    with client.get(f"/wheelhouse/{manifest['pip']}") as again:
        assert again.status_code == 200
    assert route._downloads.acquire(blocking=False)   # every slot came back


def test_nothing_is_served_before_the_wheelhouse_is_gathered(tmp_path):
    from metadata_server.app import create_app
    from metadata_server.store import open_store

    wheelhouse.use(Wheelhouse(tmp_path / "empty"))
    store = open_store(f"sqlite:///{tmp_path / 'stoker.db'}")
    try:
        client = create_app(store, "unused-hash").test_client()
        answer = client.get("/wheelhouse/")
        assert answer.status_code == 404 and "not gathered yet" in answer.text
        assert client.get("/wheelhouse/pip-26.3-py3-none-any.whl").status_code == 404
    finally:
        wheelhouse.use(None)
        store.engine.dispose()


# -- through the engine --------------------------------------------------------------------------
def test_a_server_create_pins_its_servers_wheelhouse_by_default(tmp_path, fake_index, store,
                                                                monkeypatch):
    """A SOFTWARE_CONFIG server created through the openstack driver (a loopback Nova: the
    fixture case of the driver's own tests) boots with the agent from this server's
    /wheelhouse/ under its public URL, every file of the manifest pinned, no index named."""
    pytest.importorskip("openstack", reason="the `openstack` extra is not installed")
    import base64
    import email
    import json

    from metadata_server.engine.drivers import OpenStackDriver
    from metadata_server.engine.stack import Engine
    from metadata_server.service.clock import system_clock
    from metadata_server.service.endpoints import Endpoints
    from tests.openstack_cloud import Replay

    for name in ("STOKER_AGENT_INDEX_URL", "STOKER_AGENT_FIND_LINKS", "STOKER_AGENT_NO_INDEX"):
        monkeypatch.delenv(name, raising=False)
    case = json.loads((REPO / "tests/engine/fixtures/openstack/"
                       "user_data_software_config.json").read_text())
    found = Wheelhouse(tmp_path / "wh")
    wheelhouse.use(found)
    replay = Replay(case["exchanges"])
    engine = Engine(store, system_clock, endpoints=Endpoints("https://stoker.example:8004", "k"),
                    driver=OpenStackDriver(replay.connection(), poll_interval=0))
    try:
        stack = engine.create_stack("t1", {"stack_name": "pinned", "template": case["template"]})
        assert engine.wait(stack["id"], 30)["status"] == "COMPLETE"
        sent = next(r for r in replay.requests
                    if r["method"] == "POST" and r["path"] == "/compute/v2.1/servers")
    finally:
        engine.close()
        replay.close()
        wheelhouse.use(None)
    text = base64.b64decode(sent["body"]["server"]["user_data"]).decode()
    part = email.message_from_string(text).get_payload()[-1].get_payload(decode=True).decode()
    ours = next(f["content"] for f in yaml.safe_load(part)["write_files"]
                if f["path"] == "/usr/local/sbin/stoker-bootstrap")
    manifest = found.manifest()
    assert "WHEELHOUSE=https://stoker.example:8004/wheelhouse/\n" in ours
    assert manifest["requirements"] in ours and "--require-hashes" in ours
    assert all(f"--hash=sha256:{e['sha256']}" in ours for e in manifest["files"].values())
    assert "index-url" not in ours and "pypi" not in ours.lower()
