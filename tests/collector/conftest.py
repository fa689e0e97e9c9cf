"""Fixtures for the collector tests."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest


def _load_loopback():
    # The loopback server lives with the agent tests; loaded by path (test dirs are not packages).
    name = "stoker_tests_loopback"
    if name not in sys.modules:
        path = Path(__file__).resolve().parent.parent / "agent" / "loopback.py"
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


loopback = _load_loopback()


@pytest.fixture
def http_server():
    server = loopback.Loopback().start()
    yield server
    server.stop()


@pytest.fixture
def closed_url():
    """A loopback URL nobody listens on: `closed_url("/path")`."""
    return loopback.closed_port_url
