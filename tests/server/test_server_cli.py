"""`stoker server` as a process: the admin token, clean starts and stops, one-line failures."""
from __future__ import annotations

import os
import stat
import subprocess

import pytest

from cli.processes import Process, child_env, stoker_argv


def _start(tmp_path, name, *extra, env=None):
    environment = child_env(**(env or {}))
    environment.pop("STOKER_ADMIN_TOKEN", None)
    return Process(name, stoker_argv("server", "--bind", "127.0.0.1:0", "--state-dir",
                                     str(tmp_path / "state"), *extra),
                   tmp_path / f"{name}.log", environment)


@pytest.mark.timeout(60)
def test_admin_token_is_generated_once_and_printed_once(tmp_path):
    first = _start(tmp_path, "first")
    first.wait_for_line("listening on", 20)
    line = next(line for line in first.lines if line.startswith("admin token"))
    token = line.rsplit(" ", 1)[1]
    assert first.stop() == 0
    path = tmp_path / "state" / "admin-token"
    assert path.read_text().strip() == token
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    second = _start(tmp_path, "second")
    second.wait_for_line("listening on", 20)
    assert second.stop() == 0
    assert not any(line.startswith("admin token") for line in second.lines)
    assert token not in second.log()


@pytest.mark.timeout(60)
@pytest.mark.parametrize("args, message", [
    (["--db", "bogus://nowhere"], "cannot start: NoSuchModuleError"),
    (["--cloud-driver", "openstack", "--os-cloud", "no-such-cloud"], "cloud driver"),
    # a shared database without one public URL: agents would be told this node's address
    (["--db", "postgresql://127.0.0.1:1/none"], "no --public-url is set"),
])
def test_start_failures_are_one_line(tmp_path, args, message):
    result = subprocess.run(stoker_argv("server", "--bind", "127.0.0.1:0", "--state-dir",
                                        str(tmp_path / "state"), *args),
                            capture_output=True, text=True, env=child_env(), timeout=50)
    assert result.returncode == 1
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_bad_bind_is_refused(tmp_path):
    result = subprocess.run(stoker_argv("server", "--bind", "localhost", "--state-dir",
                                        str(tmp_path)), capture_output=True, text=True,
                            env=child_env(), timeout=50)
    assert result.returncode != 0 and "HOST:PORT" in result.stderr
