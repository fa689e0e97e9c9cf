"""The run lock, process-tree kills on timeout, and run-parts ordering against the real `sort -n`."""
from __future__ import annotations

import fcntl
import os
import random
import subprocess
import sys
import time

import psutil
import pytest

from refresher.run_parts import sort_key


def _orc(tmp_path, *args, env=None):
    full_env = dict(os.environ, OS_REFRESH_CONFIG_BASE_DIR=str(tmp_path / "base"), **(env or {}))
    return subprocess.run([sys.executable, "-m", "refresher.cli", "--lockfile", str(tmp_path / "lock"), *args],
                          env=full_env, capture_output=True, text=True, timeout=60)


@pytest.mark.timeout(30)
def test_lock_held_exits_11_with_a_clear_message(tmp_path):
    (tmp_path / "base" / "configure.d").mkdir(parents=True)
    script = tmp_path / "base" / "configure.d" / "10-never"
    script.write_text("#!/bin/sh\necho ran\n")
    script.chmod(0o755)
    with open(tmp_path / "lock", "a+") as holder:
        fcntl.flock(holder, fcntl.LOCK_EX | fcntl.LOCK_NB)
        holder.write("Locked by pid==4242 at then\n")
        holder.flush()
        result = _orc(tmp_path)
    assert result.returncode == 11
    assert result.stdout == ""
    assert f"Could not lock {tmp_path / 'lock'}" in result.stderr
    assert "pid==4242" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.timeout(30)
def test_lock_file_names_the_holder_while_running(tmp_path):
    (tmp_path / "base" / "configure.d").mkdir(parents=True)
    script = tmp_path / "base" / "configure.d" / "10-show"
    script.write_text(f"#!/bin/sh\ncat {tmp_path / 'lock'}\n")
    script.chmod(0o755)
    result = _orc(tmp_path)
    assert result.returncode == 0
    assert result.stdout.startswith("Locked by pid==")
    assert (tmp_path / "lock").read_text() == ""


@pytest.mark.timeout(30)
def test_timeout_kills_the_whole_process_tree(tmp_path):
    (tmp_path / "base" / "configure.d").mkdir(parents=True)
    pids = tmp_path / "pids"
    # The script leaves a background child and a grandchild in a new session (setsid), then hangs.
    script = tmp_path / "base" / "configure.d" / "10-hang"
    script.write_text(f"#!/bin/sh\nsleep 300 &\necho $! >> {pids}\n"
                      f"setsid sh -c 'echo $$ >> {pids}; exec sleep 300' &\n"
                      f"echo $$ >> {pids}\nsleep 300\n")
    script.chmod(0o755)
    started = time.monotonic()
    result = _orc(tmp_path, "--script-timeout", "1")
    assert result.returncode == 1
    assert time.monotonic() - started < 20
    assert "timed out" in result.stderr
    recorded = [int(p) for p in pids.read_text().split()]
    assert len(recorded) == 3
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and any(_alive(p) for p in recorded):
        time.sleep(0.05)
    assert not [p for p in recorded if _alive(p)]


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_sort_key_matches_gnu_sort_n():
    r = random.Random(7)
    alphabet = "0123456789-_aZ."
    names = ["".join(r.choice(alphabet) for _ in range(r.randint(1, 6))) for _ in range(400)]
    names += ["10-a", "9-b", "foo", "-5x", "0-z", "02-x", "2", "-", ".5", "1.5a"]
    names = sorted(set(names))
    gnu = subprocess.run(["sort", "-n"], input="\n".join(names) + "\n", capture_output=True, text=True,
                         env=dict(os.environ, LANG="C", LC_ALL="C"), check=True).stdout.split("\n")[:-1]
    assert sorted(names, key=sort_key) == gnu


def test_console_script_entry_point_prints_phases(capsys):
    # setup.py: os-refresh-config = refresher.cli:main
    from refresher.cli import main
    assert main(["--print-phases"]) == 0
    assert capsys.readouterr().out == "pre-configure\tconfigure\tpost-configure\tmigration\n"


@pytest.mark.timeout(30)
def test_sigterm_kills_the_running_script_and_releases_the_lock(tmp_path):
    (tmp_path / "base" / "configure.d").mkdir(parents=True)
    pid_file = tmp_path / "pid"
    script = tmp_path / "base" / "configure.d" / "10-hang"
    script.write_text(f"#!/bin/sh\necho $$ > {pid_file}.tmp && mv {pid_file}.tmp {pid_file}\nexec sleep 300\n")
    script.chmod(0o755)
    env = dict(os.environ, OS_REFRESH_CONFIG_BASE_DIR=str(tmp_path / "base"))
    proc = subprocess.Popen([sys.executable, "-m", "refresher.cli", "--lockfile", str(tmp_path / "lock")],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 15
    while not pid_file.exists() and time.monotonic() < deadline:
        time.sleep(0.02)  # polling a file the script writes: there is no event to wait on
    script_pid = int(pid_file.read_text())
    proc.terminate()
    assert proc.wait(timeout=15) == 128 + 15
    assert not _alive(script_pid)
    assert (tmp_path / "lock").read_text() == ""


@pytest.mark.timeout(30)
def test_a_stop_while_the_script_starts_still_kills_it(tmp_path, monkeypatch):
    # SIGTERM can arrive after the script was started but before Popen returned: the run must still
    # end with the script killed, not leave it running in its own session.
    from refresher import process
    real_start, started = process._start, []

    def start_then_stop(argv, env):
        started.append(real_start(argv, env))
        process.stop(15)  # the handler, as if the signal came now
        return started[0]

    monkeypatch.setattr(process, "_start", start_then_stop)
    with pytest.raises(SystemExit) as stopped:
        process.run_with_deadline(["sleep", "300"], dict(os.environ), None)
    assert stopped.value.code == 128 + 15
    assert started[0].returncode is not None and not _alive(started[0].pid)
    with pytest.raises(SystemExit):
        process.stop(15)  # outside a start, the handler ends the run at once


@pytest.mark.parametrize("present, env, expected", [
    ({"/usr/libexec/os-refresh-config", "/opt/stack/os-config-refresh"}, {}, "/usr/libexec/os-refresh-config"),
    ({"/opt/stack/os-config-refresh"}, {}, "/opt/stack/os-config-refresh"),
    (set(), {}, "/usr/libexec/os-refresh-config"),
    ({"/opt/stack/os-config-refresh"}, {"OS_REFRESH_CONFIG_BASE_DIR": "/b"}, "/b"),
])
def test_base_dir_selection_new_legacy_and_env(present, env, expected):
    # agent-side.md §6.2 unit/test_os_refresh_config.py: new, legacy-only, both
    from refresher.phases import base_dir
    warnings = []
    assert base_dir(environ=env, isdir=lambda p: p in present, warn=warnings.append) == expected
    assert bool(warnings) == (expected == "/opt/stack/os-config-refresh")
