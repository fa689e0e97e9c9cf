"""stoker's os-collect-config and upstream's, side by side on the same local / heat_local sources.

Upstream is installed from PyPI into a throwaway venv once per session (bounded to 3 minutes; the
tests skip, saying why, when that fails). Both must print the same JSON with --print, and leave the
same cache files with the same bytes (os_config_files.json differing only by the cache directory)
after one-time runs with a succeeding and with a failing command. Upstream runs under LC_ALL=C: its
local collector restores the process locale in a way that fails under C.UTF-8.
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.upstream import require

ROOT = Path(__file__).resolve().parents[2]
INSTALL_TIMEOUT = 180

SCENARIOS = {
    "plain": {"local": {"data.json": {"a": 1, "nested": {"b": [1, 2, {"c": None}]}}, "zz": {"z": True}},
              "heat_local": {"deployments": [], "os-collect-config": {"collectors": ["local"]}}},
    "c_locale_order_and_unicode": {"local": {"b": {"x": "é"}, "B": {"x": 1}, "_u": {}, "a1": {"n": 1.5}},
                                   "heat_local": {"hl": "ünï"}},
    "heat_local_only": {"local": {}, "heat_local": {"k": "v"}},
}


@pytest.fixture(scope="session")
def upstream():
    exe = require(["os-collect-config"], INSTALL_TIMEOUT) / "bin" / "os-collect-config"
    if not exe.exists():
        pytest.skip("os-collect-config installed no os-collect-config command")
    return str(exe)


def _sources(tmp: Path, scenario: dict) -> list[str]:
    local = tmp / "local"
    local.mkdir(mode=0o700)
    for name, value in scenario["local"].items():
        (local / name).write_text(json.dumps(value))
    (tmp / "cfn-init-data").write_text(json.dumps(scenario["heat_local"]))
    conf = tmp / "empty.conf"
    conf.write_text("[DEFAULT]\n")
    return ["--config-file", str(conf), "--local-path", str(local), "--heat_local-path", str(tmp / "cfn-init-data"),
            "heat_local", "local"]


def _run(which: str, upstream_exe: str, args: list[str]) -> subprocess.CompletedProcess:
    if which == "upstream":
        cmd, env = [upstream_exe], dict(os.environ, LC_ALL="C", LANG="C")
    else:
        cmd, env = [sys.executable, "-m", "collector.cli"], dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run(cmd + args, capture_output=True, text=True, env=env, timeout=60)


def _tree(directory: Path) -> dict[str, bytes]:
    """File name -> bytes, without stoker's own bookkeeping file, cache paths made relative."""
    files = {}
    for path in sorted(directory.iterdir()):
        if path.name == ".stoker-sources.json":
            continue
        data = path.read_bytes()
        if path.name == "os_config_files.json":
            data = json.dumps([os.path.basename(p) for p in json.loads(data)]).encode()
        files[path.name] = data
    return files


@pytest.mark.timeout(300)
@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_same_print_output(upstream, tmp_path, name):
    outputs = {}
    for which in ("upstream", "stoker"):
        base = tmp_path / which
        base.mkdir()
        result = _run(which, upstream, _sources(base, SCENARIOS[name]) + ["--print"])
        assert result.returncode == 0, (which, result.stderr[-2000:])
        outputs[which] = result.stdout
    assert outputs["stoker"] == outputs["upstream"]


@pytest.mark.timeout(300)
@pytest.mark.parametrize("name", sorted(SCENARIOS))
@pytest.mark.parametrize("status", [0, 4])
def test_same_cache_files_after_a_one_time_run(upstream, tmp_path, name, status):
    trees = {}
    for which in ("upstream", "stoker"):
        base = tmp_path / which
        base.mkdir()
        script = base / "command.sh"
        script.write_text(f"#!/bin/sh\necho \"$OS_CONFIG_FILES\" >> {base / 'calls'}\nexit {status}\n")
        script.chmod(0o755)
        args = _sources(base, SCENARIOS[name]) + ["--cachedir", str(base / "cache"),
                                                  "--backup-cachedir", str(base / "backup"),
                                                  "--command", str(script), "--one-time"]
        first = _run(which, upstream, args)
        assert first.returncode == status, (which, first.stderr[-2000:])
        second = _run(which, upstream, args)  # unchanged: runs again only if the first failed
        assert second.returncode == status, (which, second.stderr[-2000:])
        calls = (base / "calls").read_text().splitlines()
        trees[which] = (_tree(base / "cache"), _tree(base / "backup"), len(calls),
                        [os.path.basename(p) for p in calls[0].split(":")])
    assert trees["stoker"] == trees["upstream"]


EXPLODING = {"deployments": [
    {"name": "dep-oac", "group": "os-apply-config", "config": {"a": {"b": 1}}},
    {"name": "dep-ungrouped", "group": "Heat::Ungrouped", "config": {"u": True}},
    {"name": "dep-nogroup", "config": {"n": [1, 2]}},
    {"name": "dep-script", "group": "script", "config": "echo hi"},
    {"group": "os-apply-config", "config": {"nameless": 1}}],
    "os-collect-config": {"collectors": ["request"]}}


@pytest.mark.timeout(300)
def test_same_explosion_from_the_request_collector(upstream, tmp_path, replay):
    replay.add("GET", "/md*", 200, EXPLODING, {"Last-Modified": "Sun, 22 Nov 2026 03:00:00 GMT"})
    results = {}
    for which in ("upstream", "stoker"):
        base = tmp_path / which
        base.mkdir()
        conf = base / "empty.conf"
        conf.write_text("[DEFAULT]\n")
        common = ["--config-file", str(conf), "--request-metadata-url", replay.base + "/md?sig=x", "request"]
        printed = _run(which, upstream, common + ["--print"])
        assert printed.returncode == 0, (which, printed.stderr[-2000:])
        ran = _run(which, upstream, common + ["--cachedir", str(base / "cache"), "--backup-cachedir",
                                              str(base / "backup"), "--command", "true", "--one-time"])
        assert ran.returncode == 0, (which, ran.stderr[-2000:])
        results[which] = (printed.stdout, _tree(base / "cache"))
    assert results["stoker"] == results["upstream"]
    order = json.loads(results["stoker"][1]["os_config_files.json"])
    assert order == ["request.json", "dep-oac.json", "dep-ungrouped.json", "dep-nogroup.json"]
