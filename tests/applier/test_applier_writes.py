"""What the applier writes: nothing when nothing changes, attributes in place, plans without I/O."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from applier.control import Control
from applier.plan import Observed, Rendered, plan


def _run(tmp_path, *extra):
    return subprocess.run([sys.executable, "-m", "applier.cli", "-t", str(tmp_path / "tpl"), "-o",
                           str(tmp_path / "out"), "-m", str(tmp_path / "md.json"), "--fallback-metadata",
                           *extra], capture_output=True, text=True, timeout=60)


@pytest.fixture
def tree(tmp_path):
    (tmp_path / "tpl" / "etc").mkdir(parents=True)
    (tmp_path / "tpl" / "etc" / "a.conf").write_text("a={{x}}\n")
    (tmp_path / "tpl" / "etc" / "b.conf").write_text("b={{y}}\n")
    (tmp_path / "tpl" / "etc" / "b.conf.oac").write_text("mode: 0600\n")
    (tmp_path / "md.json").write_text(json.dumps({"x": 1, "y": 2}))
    return tmp_path


def _stats(out):
    return {p: (os.stat(p).st_ino, os.stat(p).st_mtime_ns) for p in
            (str(out / "etc" / "a.conf"), str(out / "etc" / "b.conf"))}


@pytest.mark.timeout(60)
def test_unchanged_second_run_writes_no_file(tree):
    assert _run(tree).returncode == 0
    before = _stats(tree / "out")
    second = _run(tree)
    assert second.returncode == 0
    assert _stats(tree / "out") == before
    assert "0 file(s) changed" in second.stderr
    assert not [n for n in os.listdir(tree / "out" / "etc") if n.endswith(".tmp")]


@pytest.mark.timeout(60)
def test_changed_metadata_rewrites_only_that_file(tree):
    assert _run(tree).returncode == 0
    before = _stats(tree / "out")
    (tree / "md.json").write_text(json.dumps({"x": 1, "y": 3}))
    assert _run(tree).returncode == 0
    after = _stats(tree / "out")
    a, b = str(tree / "out" / "etc" / "a.conf"), str(tree / "out" / "etc" / "b.conf")
    assert after[a] == before[a]
    assert after[b][0] != before[b][0]  # replaced by rename: a new inode
    assert (tree / "out" / "etc" / "b.conf").read_text() == "b=3\n"
    assert os.stat(b).st_mode & 0o777 == 0o600


@pytest.mark.timeout(60)
def test_mode_drift_is_fixed_in_place(tree):
    assert _run(tree).returncode == 0
    b = tree / "out" / "etc" / "b.conf"
    b.chmod(0o644)
    inode = os.stat(b).st_ino
    result = _run(tree)
    assert result.returncode == 0
    assert os.stat(b).st_ino == inode
    assert os.stat(b).st_mode & 0o777 == 0o600
    assert "setting mode/owner" in result.stderr


@pytest.mark.timeout(60)
def test_validate_reports_what_would_change(tree):
    result = _run(tree, "--validate")
    assert result.returncode == 0
    assert "would write" in result.stderr and "2 file(s) would change" in result.stderr
    assert not (tree / "out").exists()


def test_plan_is_pure_and_decides_per_file():
    same = Rendered("t/a", "/o/a", b"x", Control())
    changed = Rendered("t/b", "/o/b", b"new", Control())
    new = Rendered("t/c", "/o/c", b"c", Control(mode=0o600))
    drift = Rendered("t/d", "/o/d", b"d", Control(mode=0o600))
    empty_gone = Rendered("t/e", "/o/e", b"", Control(allow_empty=False))
    empty_absent = Rendered("t/f", "/o/f", b"", Control(allow_empty=False))
    observed = {
        "/o/a": Observed(True, b"x", 0o640, 0, 0),
        "/o/b": Observed(True, b"old", 0o640, 0, 0),
        "/o/d": Observed(True, b"d", 0o644, 0, 0),
        "/o/e": Observed(True, b"old", 0o644, 0, 0),
    }
    actions = plan([same, changed, new, drift, empty_gone, empty_absent], observed)
    assert [a.kind for a in actions] == ["unchanged", "write", "write", "set-attributes", "delete", "skip-empty"]
    assert actions[1].mode == 0o640          # existing mode kept
    assert actions[2].mode == 0o600          # control file wins
    symlink = plan([same], {"/o/a": Observed(False, None, 0o600, 0, 0)})[0]
    assert symlink.kind == "write" and symlink.mode == 0o600


def test_mustache_errors_carry_the_line():
    from applier import mustache
    with pytest.raises(mustache.MustacheError) as err:
        mustache.parse("a\nb\n{{#x}}\n{{/y}}")
    assert err.value.line == 4
    assert "Section end tag mismatch" in str(err.value)


def test_console_script_entry_point_prints_templates(capsys, tmp_path):
    # setup.py: os-apply-config = applier.cli:main
    from applier.cli import main
    assert main(["--print-templates", "-t", str(tmp_path)]) == 0
    assert capsys.readouterr().out == f"{tmp_path}\n"


@pytest.mark.parametrize("present, env, expected", [
    ({"/usr/libexec/os-apply-config/templates", "/opt/stack/os-apply-config/templates"}, {},
     "/usr/libexec/os-apply-config/templates"),
    ({"/opt/stack/os-apply-config/templates"}, {}, "/opt/stack/os-apply-config/templates"),
    ({"/opt/stack/os-config-applier/templates"}, {}, "/opt/stack/os-config-applier/templates"),
    (set(), {}, "/usr/libexec/os-apply-config/templates"),
    ({"/opt/stack/os-apply-config/templates"}, {"OS_CONFIG_APPLIER_TEMPLATES": "/x"}, "/x"),
])
def test_template_root_default_prefers_the_standard_dir(present, env, expected):
    from applier.templates import default_dir
    assert default_dir(environ=env, isdir=lambda p: p in present) == expected


@pytest.mark.timeout(60)
def test_log_lines_have_upstreams_format(tree):
    import re

    result = _run(tree)
    assert result.returncode == 0
    lines = result.stderr.splitlines()
    stamp = r"\[\d{4}/\d\d/\d\d \d\d:\d\d:\d\d [AP]M\] "
    assert [re.sub(stamp, "", line) for line in lines] == [
        f"[INFO] writing {tree / 'out' / 'etc' / 'a.conf'}",
        f"[INFO] writing {tree / 'out' / 'etc' / 'b.conf'}",
        "[INFO] success: 2 template(s), 2 file(s) changed"]
    assert all(re.match(stamp, line) for line in lines)
