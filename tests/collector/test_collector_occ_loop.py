"""occ_loop.collect_all: OS_CONFIG_FILES order, explosion, and the last-good fallback."""
import json

from collector import occ_loop
from collector.cache import Cache
from collector.fake import FakeCollector

DOC = {"deployments": [{"name": "d1", "group": "os-apply-config", "config": {"x": 1}},
                       {"name": "d2", "config": {"y": 2}},
                       {"name": "s", "group": "script", "config": "true"}]}


def keys(paths):
    return [p.rsplit("/", 1)[1][: -len(".json")] for p in paths]


def test_order_is_collector_then_its_exploded_deployments(tmp_path):
    cache = Cache(str(tmp_path))
    first, second = FakeCollector(name="first", document=DOC), FakeCollector(name="second", document={"k": 1})
    collected = occ_loop.collect_all([first, second], cache, store=True)
    assert keys(collected.paths) == ["first", "d1", "d2", "second"]
    assert collected.changed == ["first", "d1", "d2", "second"]
    assert collected.sources == {"first": ["first", "d1", "d2"], "second": ["second"]}


def test_custom_deployment_key(tmp_path):
    collected = occ_loop.collect_all([FakeCollector(name="f", document={"other": DOC["deployments"]})],
                                     Cache(str(tmp_path)), store=True, deployment_keys=["other"])
    assert keys(collected.paths) == ["f", "d1", "d2"]


def test_a_failed_source_keeps_its_exploded_files_listed(tmp_path):
    cache = Cache(str(tmp_path))
    source, other = FakeCollector(name="src", document=DOC), FakeCollector(name="other", document={"v": 1})
    collected = occ_loop.collect_all([source, other], cache, store=True)
    occ_loop.record(cache, collected)
    occ_loop.commit(cache, collected.changed)

    source.fail("HTTP 500")
    other.set({"v": 2})
    again = occ_loop.collect_all([source, other], cache, store=True)
    assert keys(again.paths) == ["src", "d1", "d2", "other"]
    assert again.changed == ["other"]
    assert again.unavailable == [("src", "HTTP 500")]
    assert json.loads((tmp_path / "src.json").read_text()) == DOC  # last good data untouched


def test_print_mode_writes_nothing_and_omits_failed_sources(tmp_path):
    cache = Cache(str(tmp_path / "cache"))
    bad = FakeCollector(name="bad")
    bad.fail("down")
    collected = occ_loop.collect_all([bad, FakeCollector(name="good", document=DOC)], cache, store=False)
    assert list(collected.content) == ["good", "d1", "d2"]
    assert not (tmp_path / "cache").exists()


def test_not_configured_source_is_skipped_quietly(tmp_path, caplog):
    quiet = FakeCollector(name="quiet")
    quiet.configured = False
    collected = occ_loop.collect_all([quiet], Cache(str(tmp_path)), store=True)
    assert collected.paths == [] and collected.unavailable == []
    assert "quiet" not in "".join(r.getMessage() for r in caplog.records if r.levelname != "DEBUG")


def test_config_hash_is_upstreams_md5(tmp_path):
    assert occ_loop.config_hash([]) == "d41d8cd98f00b204e9800998ecf8427e"
    a, b = tmp_path / "a", tmp_path / "b"
    a.write_text("foo")
    b.write_text("bar")
    assert occ_loop.config_hash([str(a), str(tmp_path / "missing"), str(b)]) == "3858f62230ac3c915f300c664312c63f"


def test_backup_is_a_full_copy_replaced_each_time(tmp_path):
    cachedir, backup = tmp_path / "cache", tmp_path / "backup"
    cachedir.mkdir()
    (cachedir / "a.json").write_text("1")
    occ_loop.backup(str(cachedir), str(backup))
    (cachedir / "a.json").unlink()
    (cachedir / "b.json").write_text("2")
    occ_loop.backup(str(cachedir), str(backup))
    assert sorted(p.name for p in backup.iterdir()) == ["b.json"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".backup")]


def test_a_failed_source_without_a_record_keeps_its_own_file(tmp_path):
    # A cache written before .stoker-sources.json existed (or with it lost): the source's own file
    # stays listed, with its data, instead of dropping out of OS_CONFIG_FILES.
    cache = Cache(str(tmp_path))
    source = FakeCollector(name="src", document=DOC)
    occ_loop.record(cache, occ_loop.collect_all([source], cache, store=True))
    (tmp_path / occ_loop.SOURCES_FILE).unlink()

    source.fail("HTTP 500")
    again = occ_loop.collect_all([source], cache, store=True)
    assert keys(again.paths) == ["src"]
    assert again.content == {"src": DOC}
