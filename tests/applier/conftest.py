"""Fixtures for the applier tests: upstream os-apply-config for side-by-side runs."""
from __future__ import annotations

import pytest

import applier_upstream


@pytest.fixture(scope="session")
def upstream_oac(tmp_path_factory) -> list[str]:
    """The command that runs upstream os-apply-config (skips the test when it cannot be installed)."""
    try:
        python = applier_upstream.install(str(tmp_path_factory.mktemp("upstream")))
    except RuntimeError as e:
        pytest.skip(f"upstream os-apply-config unavailable: {e}")
    return applier_upstream.command(python)


@pytest.fixture(scope="session")
def upstream_oac_python(upstream_oac) -> str:
    return upstream_oac[0]
