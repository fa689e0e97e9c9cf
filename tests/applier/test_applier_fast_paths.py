"""The applier's fast paths give the same results as the general code, and keep the write order.

- flush.py: one syncfs per filesystem for a batch, fsync each otherwise (created directories'
  parents included), errors reported;
- writer.py: the flush batch is opened before the first temp file is written; staged files are
  durable before any target is replaced, renames durable after.
"""
from __future__ import annotations

import os
import random

import pytest

from applier import flush, writer
from applier.errors import ApplyError
from applier.plan import Action

@pytest.mark.parametrize("release, expected", [
    ("6.18.44-fc-v769", True), ("5.8.0", True), ("5.10.0-28-amd64", True),
    ("5.7.19", False), ("4.18.0-553.el8_10.x86_64", False), ("3.10.0", False), ("weird", False),
])
def test_syncfs_is_trusted_from_linux_5_8(release, expected):
    assert flush.kernel_reports_syncfs_errors(release) is expected


class Recorder:
    """A syncfs stand-in: records which directory each call was given."""

    def __init__(self, result=0):
        self.calls: list[str] = []
        self.result = result

    def __call__(self, fd: int) -> int:
        self.calls.append(os.readlink(f"/proc/self/fd/{fd}"))
        return self.result


def _files(base, count, dirs=2):
    paths = []
    for n in range(count):
        d = base / f"d{n % dirs}"
        d.mkdir(parents=True, exist_ok=True)
        (d / f"f{n}").write_text("x")
        paths.append(str(d / f"f{n}"))
    return paths


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc")
def test_a_batch_is_flushed_with_one_syncfs_per_filesystem(tmp_path, monkeypatch):
    syncfs, fsynced = Recorder(), []
    monkeypatch.setattr(flush, "_syncfs_call", lambda: syncfs)
    monkeypatch.setattr(flush, "fsync_path", lambda path, directory=False: fsynced.append(path))
    files = _files(tmp_path, flush.BATCH, dirs=3)
    directories = [str(tmp_path / f"d{n}") for n in range(3)] + [str(tmp_path / "new" / "deeper")]
    with flush.Batch(directories, len(files)) as batch:
        batch.files(files)
        assert len(syncfs.calls) == 1 and syncfs.calls[0].startswith(str(tmp_path))
        batch.directories(directories)
        assert len(syncfs.calls) == 2 and not fsynced


def test_small_batches_and_no_syncfs_fsync_each_file_and_directory(tmp_path, monkeypatch):
    fsynced = []
    monkeypatch.setattr(flush, "fsync_path", lambda path, directory=False: fsynced.append(path))
    monkeypatch.setattr(flush, "_syncfs_call", lambda: pytest.fail("syncfs for a small batch"))
    few = _files(tmp_path, 3)
    with flush.Batch([str(tmp_path / "d0")], len(few)) as batch:
        batch.files(few)
    assert fsynced == few
    fsynced.clear()
    monkeypatch.setattr(flush, "_syncfs_call", lambda: None)  # not Linux, or a kernel before 5.8
    created = str(tmp_path / "new" / "deeper")
    with flush.Batch([str(tmp_path / "d0"), created], flush.BATCH + 4) as batch:
        many = _files(tmp_path / "many", flush.BATCH + 4)
        batch.files(many)
        assert sorted(fsynced) == sorted(many)
        fsynced.clear()
        os.makedirs(created)
        batch.directories([str(tmp_path / "d0"), created])
    # A created directory's entry lives in its parent, and so on up to the one that existed.
    assert fsynced == [str(tmp_path / "d0"), created, str(tmp_path / "new"), str(tmp_path)]


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc")
def test_a_failed_flush_changes_no_target(tmp_path, monkeypatch):
    monkeypatch.setattr(flush, "_syncfs_call", lambda: Recorder(result=-1))
    actions = [Action("write", str(tmp_path / f"f{n}"), f"t{n}", b"new", 0o644) for n in range(flush.BATCH)]
    (tmp_path / "f0").write_text("old")
    with pytest.raises(ApplyError) as err:
        writer.apply(actions)
    assert "no file was changed" in str(err.value)
    assert sorted(os.listdir(tmp_path)) == ["f0"] and (tmp_path / "f0").read_text() == "old"


class OrderChecker:
    """A flush.Batch stand-in that checks what is on disk at each flush."""

    def __init__(self, targets, seen):
        self.targets, self.seen = targets, seen

    def __call__(self, directories, count):
        assert not any(t.exists() for t in self.targets)
        assert not [n for t in self.targets if t.parent.exists() for n in os.listdir(t.parent)]
        self.seen.append("opened before staging")
        return self

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.seen.append("closed")

    def files(self, paths):
        # Every staged file complete, with its final mode, and no target replaced yet.
        assert len(paths) == len(self.targets)
        assert all(open(p, "rb").read() == b"body %d" % n for n, p in enumerate(paths))
        assert all(os.stat(p).st_mode & 0o777 == 0o640 for p in paths)
        assert not any(t.exists() for t in self.targets)
        self.seen.append("files")

    def directories(self, paths):
        assert all(t.read_bytes() == b"body %d" % n for n, t in enumerate(self.targets))
        assert sorted(paths) == sorted({str(t.parent) for t in self.targets})
        self.seen.append("directories")


@pytest.mark.parametrize("count", [2, flush.BATCH + 1])
def test_staged_files_are_durable_before_any_rename(tmp_path, monkeypatch, count):
    targets = [tmp_path / "etc" / f"sub{n % 2}" / f"f{n}.conf" for n in range(count)]
    seen = []
    monkeypatch.setattr(flush, "Batch", OrderChecker(targets, seen))
    writer.apply([Action("write", str(t), "tpl", b"body %d" % n, 0o640) for n, t in enumerate(targets)])
    assert seen == ["opened before staging", "files", "directories", "closed"]
    assert not [n for t in targets for n in os.listdir(t.parent) if n.endswith(".tmp")]


def test_a_leftover_temp_file_is_neither_used_nor_removed(tmp_path):
    target = tmp_path / "a.conf"
    stale = tmp_path / f".a.conf.{os.getpid()}.tmp"
    stale.write_text("stale")
    writer.apply([Action("write", str(target), "tpl", b"new", 0o600)])
    assert target.read_text() == "new" and os.stat(target).st_mode & 0o777 == 0o600
    assert stale.read_text() == "stale"


TOKENS = ["0644", "0600", "644", "0", "00", "08", "0x1f", "0b11", "1_0", "1.5", ".5", "1e3", "1:30",
          "2001-01-01", "yes", "Yes", "YES", "y", "n", "no", "on", "Off", "true", "FALSE", "null", "Null",
          "~", "", "root", "www-data", "_x", "a.b", "-1", "+1", "'root'", '"0644"', "root # c", "[1]",
          "{a: 1}", "\u00e9", "0o644", "nobody", "NO", "tRue", "0777", "0999", "12"]


def generated_control(r: random.Random) -> str:
    lines = []
    for _ in range(r.randint(0, 4)):
        if r.random() < 0.1:
            lines.append(r.choice(["", "  ", "# comment", "#", "---", "  # x", "\t", "...", "%YAML 1.1"]))
        else:
            lines.append(r.choice(["mode", "owner", "group", "allow_empty", "mode", "other"])
                         + r.choice([": ", ":  ", ":", ": \t", " : "]) + r.choice(TOKENS)
                         + r.choice(["", "", " ", "  ", "\r"]))
    return r.choice(["\n", "\r\n", "\n\n"]).join(lines) + r.choice(["", "\n"])


@pytest.mark.timeout(60)
def test_simple_control_files_read_as_pyyaml_reads_them():
    yaml = pytest.importorskip("yaml")
    from applier import control

    r = random.Random(11)
    simple = 0
    for _ in range(20000):
        text = generated_control(r)
        data = control._simple_yaml(text)
        if data is control._NOT_SIMPLE:
            continue
        simple += 1
        expected = yaml.safe_load(text)
        assert data == expected, text
        assert [type(v) for v in (data or {}).values()] == [type(v) for v in (expected or {}).values()], text
    assert simple > 3000


def test_template_text_is_read_with_universal_newlines_and_executables_are_run(tmp_path):
    from applier.renderers import render
    from applier.templates import discover

    (tmp_path / "t").mkdir()
    (tmp_path / "t" / "crlf").write_bytes(b"a={{x}}\r\nb\rc\n")
    script = tmp_path / "t" / "script"
    script.write_text("#!/bin/sh\necho run\n")
    script.chmod(0o711)
    templates = {t.relative: t for t in discover(str(tmp_path / "t"))}
    assert render(templates["crlf"], {"x": 1}) == "a=1\nb\nc\n"  # as upstream reads templates
    assert render(templates["script"], {}) == "run\n"
