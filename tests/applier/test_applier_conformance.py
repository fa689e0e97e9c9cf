"""Every fixture case run against stoker's os-apply-config (one runner, one file per case)."""
from __future__ import annotations

import pytest

import applier_cases


@pytest.mark.timeout(60)
@pytest.mark.parametrize("name", applier_cases.case_names())
def test_applier_case(name, tmp_path):
    case = applier_cases.load(name)
    applier_cases.skip_unless_possible(case)
    outcome = applier_cases.run(case, tmp_path, applier_cases_command())
    applier_cases.check(case, outcome, tmp_path)


def applier_cases_command() -> list[str]:
    import sys
    return [sys.executable, "-m", "applier.cli"]
