"""os-collect-config cache semantics: .json / .orig / .last, JSON-semantic change detection."""
import json
import os
import stat

import pytest

from collector.cache import Cache


@pytest.fixture
def cache(tmp_path):
    return Cache(str(tmp_path / "cache"))


def read(path):
    with open(path) as f:
        return json.load(f)


def test_first_store_is_a_change_and_writes_json_and_orig(cache):
    changed, path = cache.store("watch", {"a": 1})
    assert changed
    assert path == os.path.join(cache.cachedir, "watch.json")
    assert read(path) == {"a": 1}
    assert read(path + ".orig") == {"a": 1}
    assert not os.path.exists(path + ".last")
    # indent 1, as upstream writes it
    assert open(path).read() == json.dumps({"a": 1}, indent=1)


def test_uncommitted_data_stays_changed(cache):
    cache.store("watch", {"a": 1})
    changed, _ = cache.store("watch", {"a": 1})
    assert changed


def test_commit_then_same_data_is_unchanged_and_new_data_is_changed(cache):
    _, path = cache.store("watch", {"a": 1, "b": [1, 2]})
    assert cache.commit("watch") == path + ".last"
    assert read(path + ".last") == {"a": 1, "b": [1, 2]}
    assert cache.store("watch", {"b": [1, 2], "a": 1}) == (False, path)  # key order does not count
    assert cache.store("watch", {"a": 2, "b": [1, 2]})[0]


def test_orig_is_written_only_once(cache):
    _, path = cache.store("watch", {"v": 1})
    cache.store("watch", {"v": 2})
    assert read(path + ".orig") == {"v": 1}
    assert read(path) == {"v": 2}


def test_commit_of_a_never_stored_key_does_nothing(cache):
    assert cache.commit("nothing") is None
    assert not os.path.exists(os.path.join(cache.cachedir, "nothing.json.last"))


def test_files_are_private_and_no_temp_files_remain(cache):
    _, path = cache.store("watch", {"token": "x"})
    cache.commit("watch")
    for suffix in ("", ".orig", ".last"):
        assert stat.S_IMODE(os.stat(path + suffix).st_mode) == 0o600
    assert sorted(os.listdir(cache.cachedir)) == ["watch.json", "watch.json.last", "watch.json.orig"]


def test_meta_list_and_load(cache):
    _, p1 = cache.store("watch", {"a": 1})
    _, p2 = cache.store("dep1", {"b": 2})
    meta = cache.store_meta_list([p1, p2])
    assert os.path.basename(meta) == "os_config_files.json"
    assert read(meta) == [p1, p2]
    assert cache.load("dep1") == {"b": 2}
    assert cache.load("missing") is None


@pytest.mark.parametrize("key", ["", "a/b", "..", ".hidden"])
def test_unsafe_keys_are_refused(cache, key):
    with pytest.raises(ValueError):
        cache.store(key, {})
