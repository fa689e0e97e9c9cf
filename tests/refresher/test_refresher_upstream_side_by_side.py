"""stoker's os-refresh-config next to upstream's (installed from PyPI at test time).

Every fixture case marked `"upstream": true` runs with both; the exit status and the scripts'
output on stdout (which is the run order) must be the same, and both must meet the case.
"""
from __future__ import annotations

import os

import pytest

import refresher_cases

SHARED = [n for n in refresher_cases.case_names() if refresher_cases.load(n).get("upstream")]


@pytest.mark.timeout(300)
@pytest.mark.parametrize("name", SHARED)
def test_same_run_as_upstream(name, tmp_path, upstream_orc_bin):
    case = refresher_cases.load(name)
    ours = refresher_cases.run(case, tmp_path / "stoker", refresher_cases.stoker_command())
    path = {"PATH": upstream_orc_bin + os.pathsep + os.environ.get("PATH", "")}
    theirs = refresher_cases.run(case, tmp_path / "upstream", [os.path.join(upstream_orc_bin, "os-refresh-config")], path)
    theirs_out = theirs.stdout.replace(str(tmp_path / "upstream"), "ROOT")
    ours_out = ours.stdout.replace(str(tmp_path / "stoker"), "ROOT")
    assert (ours.rc, ours_out) == (theirs.rc, theirs_out), f"upstream stderr:\n{theirs.stderr}"
    assert ours.lockfile == theirs.lockfile
