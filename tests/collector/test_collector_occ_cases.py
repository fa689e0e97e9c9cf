"""os-collect-config conformance: one fixture per case in fixtures/occ_cases, run through collector.cli.

Each case sets up `local` files and a `heat_local` cfn-init-data file, then runs the command one or
more times (`runs`), changing sources between runs, and checks exit status, command calls,
OS_CONFIG_FILES, and which cache files exist. The command is a shell line that records
$OS_CONFIG_FILES and exits with the case's status.
"""
import json
import os
from pathlib import Path

import pytest

from collector import cli

CASES = sorted((Path(__file__).parent / "fixtures" / "occ_cases").glob("*.json"))


def _write_sources(tmp: Path, run_or_case: dict) -> None:
    for name, value in (run_or_case.get("local") or {}).items():
        (tmp / "local" / name).write_text(json.dumps(value))
    if run_or_case.get("heat_local") is not None:
        (tmp / "cfn-init-data").write_text(json.dumps(run_or_case["heat_local"]))
    if "heat_local_text" in run_or_case:
        (tmp / "cfn-init-data").write_text(run_or_case["heat_local_text"])


def _keys(paths, cachedir):
    assert all(os.path.dirname(p) == str(cachedir) for p in paths), paths
    return [os.path.basename(p)[: -len(".json")] for p in paths]


@pytest.mark.timeout(60)
@pytest.mark.parametrize("case_file", CASES, ids=[c.stem for c in CASES])
def test_occ_case(case_file, tmp_path, capsys):
    case = json.loads(case_file.read_text())
    (tmp_path / "local").mkdir(mode=0o700)
    cachedir, backup, calls = tmp_path / "cache", tmp_path / "backup", tmp_path / "calls"
    conf = tmp_path / "os-collect-config.conf"
    conf.write_text("[DEFAULT]\n")
    _write_sources(tmp_path, case)
    for index, run in enumerate(case["runs"]):
        _write_sources(tmp_path, run)
        before = calls.read_text().splitlines() if calls.exists() else []
        argv = ["--config-file", str(conf), "--cachedir", str(cachedir), "--backup-cachedir", str(backup),
                "--local-path", str(tmp_path / "local"), "--heat_local-path", str(tmp_path / "cfn-init-data"),
                "--splay", "0", *case["collectors"], *run["args"]]
        if run.get("command") is not None:
            argv += ["--command", f'echo "$OS_CONFIG_FILES" >> {calls}; exit {run["command"]}']
        rc = cli.main(argv)
        out, err = capsys.readouterr()
        expect = run["expect"]
        where = f"{case_file.name} run {index}"
        after = calls.read_text().splitlines() if calls.exists() else []
        new_calls = after[len(before):]
        if "rc" in expect:
            assert rc == expect["rc"], where
        if "command_calls" in expect:
            assert len(new_calls) == expect["command_calls"], where
        if "os_config_files" in expect:
            listed = new_calls[-1].split(":")
            assert _keys(listed, cachedir) == expect["os_config_files"], where
            assert json.loads((cachedir / "os_config_files.json").read_text()) == listed, where
            assert all(os.path.exists(p) for p in listed), where
            if expect.get("backup_lists_same"):
                assert json.loads((backup / "os_config_files.json").read_text()) == listed, where
        for field, directory in (("last", cachedir), ("backup_last", backup)):
            if field in expect:
                found = sorted(p.name[: -len(".json.last")] for p in directory.glob("*.json.last"))
                assert found == sorted(expect[field]), where
        if "orig" in expect:
            found = sorted(p.name[: -len(".json.orig")] for p in cachedir.glob("*.json.orig"))
            assert found == sorted(expect["orig"]), where
        for key, value in expect.get("cache_json", {}).items():
            assert json.loads((cachedir / f"{key}.json").read_text()) == value, where
        if "stdout_json" in expect:
            assert json.loads(out) == expect["stdout_json"], where
            assert out == json.dumps(expect["stdout_json"], indent=1) + "\n", where
        if "stdout" in expect:
            assert out == expect["stdout"].replace("{cachedir}", str(cachedir)), where
        if expect.get("no_cachedir"):
            assert not cachedir.exists(), where
        if "stderr_contains" in expect:
            assert expect["stderr_contains"] in err, where
        assert "Traceback" not in err, where
