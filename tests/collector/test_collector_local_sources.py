"""local, heat_local and config_drive collectors: files on this machine."""
import json
import os
import threading

import pytest

from collector import config_drive
from collector.config_drive import ConfigDriveCollector
from collector.errors import SourceNotAvailable
from collector.heat_local import HeatLocalCollector
from collector.local import LocalCollector


@pytest.fixture
def local_dir(tmp_path):
    d = tmp_path / "local-data"
    d.mkdir(mode=0o700)
    return d


def test_local_one_file_keyed_by_its_name(local_dir):
    (local_dir / "test.json").write_text('{"a": 1}')
    assert LocalCollector({"path": [str(local_dir)]}).collect() == [("test.json", {"a": 1})]


def test_local_c_locale_order_whatever_listdir_says(local_dir, monkeypatch):
    names = ["b", "A", "a", "_x", "Z1", "é"]
    for name in names:
        (local_dir / name).write_text(json.dumps({"n": name}))
    monkeypatch.setattr(os, "listdir", lambda path: list(reversed(sorted(names, key=str.lower))))
    keys = [k for k, _ in LocalCollector({"path": [str(local_dir)]}).collect()]
    assert keys == ["A", "Z1", "_x", "a", "b", "é"]


def test_local_skips_dotfiles_and_directories(local_dir):
    (local_dir / ".hidden").write_text("{}")
    (local_dir / "sub").mkdir()
    assert LocalCollector({"path": [str(local_dir)]}).collect() == []


def test_local_missing_directory_is_empty(tmp_path):
    assert LocalCollector({"path": [str(tmp_path / "nope")]}).collect() == []


def test_local_no_path_is_unavailable():
    with pytest.raises(SourceNotAvailable, match=r"\[local\] path lists no directory"):
        LocalCollector({"path": []}).collect()


def test_local_world_writable_file(local_dir):
    f = local_dir / "x"
    f.write_text("{}")
    f.chmod(0o666)
    with pytest.raises(SourceNotAvailable, match=f"file {f} is world-writable"):
        LocalCollector({"path": [str(local_dir)]}).collect()


def test_local_world_writable_directory(local_dir):
    local_dir.chmod(0o777)
    with pytest.raises(SourceNotAvailable, match=f"directory {local_dir} is world-writable"):
        LocalCollector({"path": [str(local_dir)]}).collect()


def test_local_directory_owned_by_someone_else(local_dir, monkeypatch):
    monkeypatch.setattr(os, "getuid", lambda: os.stat(local_dir).st_uid + 1)
    with pytest.raises(SourceNotAvailable, match="is owned by uid .*not by this user"):
        LocalCollector({"path": [str(local_dir)]}).collect()


def test_local_invalid_json_names_the_file(local_dir):
    (local_dir / "bad").write_text("{nope")
    with pytest.raises(SourceNotAvailable, match=f"{local_dir / 'bad'} is not valid JSON"):
        LocalCollector({"path": [str(local_dir)]}).collect()


@pytest.mark.timeout(20)
def test_local_watchdog_wakes_on_a_change(local_dir):
    pytest.importorskip("watchdog", reason="watchdog not installed (stoker[watch])")
    woke = threading.Event()
    collector = LocalCollector({"path": [str(local_dir)]})
    assert collector.start_watching(woke.set)
    try:
        collector.collect()  # reading must not count as a change
        woke.clear()
        (local_dir / "new.json").write_text("{}")
        assert woke.wait(10)
    finally:
        collector.stop_watching()


def test_heat_local_merges_files_later_wins(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.write_text('{"x": 1, "y": 1}')
    b.write_text('{"y": 2}')
    assert HeatLocalCollector({"path": [str(a), str(b)]}).collect() == [("heat_local", {"x": 1, "y": 2})]
    assert HeatLocalCollector({"path": [str(a), str(a)]}).collect() == [("heat_local", {"x": 1, "y": 1})]


def test_heat_local_invalid_json_and_missing_file(tmp_path):
    bad = tmp_path / "bad"
    bad.write_text("{not json")
    with pytest.raises(SourceNotAvailable) as err:
        HeatLocalCollector({"path": [str(bad), str(tmp_path / "missing")]}).collect()
    assert "no local metadata found" in err.value.reason
    assert f"{bad} is not valid JSON" in err.value.reason and "missing does not exist" in err.value.reason


def test_config_drive_reads_the_openstack_files(tmp_path):
    (tmp_path / "openstack" / "latest").mkdir(parents=True)
    (tmp_path / "openstack" / "latest" / "meta_data.json").write_text('{"uuid": "i-1"}')
    (tmp_path / "openstack" / "latest" / "network_data.json").write_text('{"links": []}')
    assert ConfigDriveCollector({"path": str(tmp_path)}).collect() == [
        ("config_drive", {"meta_data": {"uuid": "i-1"}, "network_data": {"links": []}})]


def test_config_drive_malformed_file_is_named(tmp_path):
    (tmp_path / "openstack" / "latest").mkdir(parents=True)
    (tmp_path / "openstack" / "latest" / "meta_data.json").write_text("{")
    with pytest.raises(SourceNotAvailable, match="meta_data.json is not valid JSON"):
        ConfigDriveCollector({"path": str(tmp_path)}).collect()


def test_config_drive_found_in_proc_mounts(tmp_path):
    mounts = tmp_path / "mounts"
    mounts.write_text("/dev/vda1 / ext4 rw 0 0\n/dev/sr0 /mnt/config\\040drive iso9660 ro 0 0\n")
    label = tmp_path / "config-2"
    label.symlink_to("/dev/sr0")
    assert config_drive.find_mount(str(mounts), str(label)) == "/mnt/config drive"
    assert config_drive.find_mount(str(mounts), str(tmp_path / "no-label")) is None
