"""Fixtures for the refresher tests: upstream os-refresh-config for side-by-side runs."""
from __future__ import annotations

import pytest

import refresher_upstream


@pytest.fixture(scope="session")
def upstream_orc_bin(tmp_path_factory) -> str:
    try:
        return refresher_upstream.install(str(tmp_path_factory.mktemp("upstream")))
    except RuntimeError as e:
        pytest.skip(f"upstream os-refresh-config unavailable: {e}")
