"""Every fixture case run against stoker's os-refresh-config (one runner, one file per case)."""
from __future__ import annotations

import pytest

import refresher_cases


@pytest.mark.timeout(60)
@pytest.mark.parametrize("name", refresher_cases.case_names())
def test_refresher_case(name, tmp_path):
    case = refresher_cases.load(name)
    outcome = refresher_cases.run(case, tmp_path, refresher_cases.stoker_command())
    refresher_cases.check(case, outcome, tmp_path)
