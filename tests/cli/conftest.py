"""A real `stoker server` for the operator CLI tests, and a way to run `stoker` in-process."""
from __future__ import annotations

import secrets
from dataclasses import dataclass

import pytest
import requests

from cli.main import main
from cli.processes import start_server


@dataclass
class Result:
    code: int
    out: str
    err: str


@pytest.fixture(scope="module")
def live_server(tmp_path_factory):
    """One server per test module (starting one takes about a second)."""
    tmp = tmp_path_factory.mktemp("cli-server")
    token = secrets.token_urlsafe(16)
    process, base = start_server(tmp / "state", token, tmp / "server.log")
    yield base, token, tmp / "state"
    assert process.stop() == 0
    assert "Traceback" not in process.log()


@pytest.fixture
def stoker(live_server, capsys, monkeypatch):
    """Run `stoker ARGS` in-process against the live server; returns code, stdout, stderr."""
    base, token, state_dir = live_server
    tenant = "cli" + secrets.token_hex(3)   # each test its own tenant: no cross-test leftovers
    monkeypatch.setenv("STOKER_URL", base)
    monkeypatch.setenv("STOKER_TOKEN", token)
    monkeypatch.setenv("STOKER_TENANT", tenant)

    def run(*argv: str) -> Result:
        capsys.readouterr()
        try:
            code = main(list(argv))
        except SystemExit as exc:   # argparse usage errors
            code = exc.code
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)
    run.base, run.token, run.tenant = base, token, tenant
    run.api = f"{base}/v1/{tenant}"
    run.state_dir = state_dir
    run.http = requests.Session()
    run.http.headers["X-Auth-Token"] = token
    return run
