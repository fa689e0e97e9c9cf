"""The os-collect-config daemon: sleeps, server-set interval, long-poll credit, re-exec points."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from collector.daemon import Daemon, Settings
from collector.errors import SourceNotAvailable
from collector.fake import FakeCollector

ROOT = Path(__file__).resolve().parents[2]


def settings(tmp_path, **overrides):
    values = dict(command="true", cachedir=str(tmp_path / "cache"), backup_cachedir=str(tmp_path / "backup"),
                  polling_interval=10.0, min_polling_interval=1.0, splay=0.0, one_time=False, force=False,
                  print_only=False)
    values.update(overrides)
    return Settings(**values)


class Stop(Exception):
    pass


def run_with_sleeps(daemon, polls):
    """Run until `polls` sleeps happened; returns the sleep durations."""
    sleeps = []

    def sleep(seconds):
        sleeps.append(seconds)
        if len(sleeps) >= polls:
            raise Stop
        return False

    daemon._sleep = sleep
    with pytest.raises(Stop):
        daemon.run()
    return sleeps


def test_sleeps_double_when_idle_reset_after_a_change_with_jitter(tmp_path):
    fake = FakeCollector(name="fake", document={"v": 0})
    daemon = Daemon(settings(tmp_path), [fake], rand=lambda: 0.5)  # jitter factor exactly 1
    sleeps = run_with_sleeps(daemon, 6)
    assert sleeps == [1, 2, 4, 8, 10, 10]
    fake.set({"v": 1})
    assert run_with_sleeps(daemon, 2) == [1, 2]


def test_failures_grow_the_sleep_and_jitter_applies(tmp_path):
    fake = FakeCollector(name="fake", document={"v": 0})
    fake.fail("down")
    daemon = Daemon(settings(tmp_path), [fake], rand=lambda: 1.0)  # +10%
    assert run_with_sleeps(daemon, 3) == pytest.approx([1.1, 2.2, 4.4])


def test_server_poll_interval_caps_the_sleep_and_long_poll_time_is_credited(tmp_path):
    fake = FakeCollector(name="fake", document={"v": 0})
    fake.poll_interval = 3.0
    fake.held_for = 0.0
    daemon = Daemon(settings(tmp_path, polling_interval=30.0), [fake], rand=lambda: 0.5)
    assert run_with_sleeps(daemon, 4) == [1, 2, 3, 3]
    fake.held_for = 2.5
    assert run_with_sleeps(daemon, 1) == [0.5]


def test_splay_before_the_first_poll_only_in_daemon_mode(tmp_path):
    fake = FakeCollector(name="fake", document={})
    daemon = Daemon(settings(tmp_path, splay=29.0), [fake], rand=lambda: 0.25)
    assert run_with_sleeps(daemon, 2)[0] == pytest.approx(7.25)
    one_time = Daemon(settings(tmp_path, splay=29.0, one_time=True), [fake], rand=lambda: 0.25)
    one_time._sleep = lambda s: pytest.fail("one-time runs do not splay")
    assert one_time.run() == 0


def test_sighup_re_execs_only_after_the_command(tmp_path):
    fake = FakeCollector(name="fake", document={"v": 1})
    events = []
    daemon = Daemon(settings(tmp_path, command=f"echo ran >> {tmp_path / 'log'}"), [fake],
                    reexec=lambda: events.append("reexec"))
    original = fake.collect

    def collect():
        daemon._on_hup(signal.SIGHUP, None)  # arrives while collecting
        return original()

    fake.collect = collect
    assert daemon.run() == 0
    assert events == ["reexec"]
    assert (tmp_path / "log").read_text() == "ran\n"
    assert (tmp_path / "cache" / "fake.json.last").exists()


def test_config_file_change_re_execs(tmp_path):
    conf = tmp_path / "occ.conf"
    conf.write_text("[DEFAULT]\n")
    fake = FakeCollector(name="fake", document={"v": 1})
    events = []
    daemon = Daemon(settings(tmp_path, config_files=[str(conf)]), [fake], reexec=lambda: events.append("reexec"))
    daemon._sleep = lambda s: conf.write_text("[DEFAULT]\npolling_interval = 5\n") < 0  # False: keep going
    assert daemon.run() == 0
    assert events == ["reexec"]


def test_unexpected_collector_error_does_not_end_the_loop(tmp_path, caplog):
    class Broken(FakeCollector):
        def collect(self):
            raise KeyError("config")

    daemon = Daemon(settings(tmp_path), [Broken(name="broken"), FakeCollector(name="fake", document={"a": 1})],
                    rand=lambda: 0.5)
    assert run_with_sleeps(daemon, 2) == [1, 2]
    assert "collector broken: unexpected KeyError" in caplog.text
    assert (tmp_path / "cache" / "fake.json.last").exists()


@pytest.mark.timeout(60)
def test_real_process_re_execs_on_sighup_and_on_config_change(tmp_path):
    local = tmp_path / "local"
    local.mkdir(mode=0o700)
    (local / "data").write_text('{"a": 1}')
    conf = tmp_path / "os-collect-config.conf"
    conf.write_text(f"[DEFAULT]\ncollectors = local\ncommand = true\nsplay = 0\npolling_interval = 0.2\n"
                    f"min_polling_interval = 0.1\ncachedir = {tmp_path / 'cache'}\n"
                    f"backup_cachedir = {tmp_path / 'backup'}\n[local]\npath = {local}\n")
    log = tmp_path / "stderr"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    with open(log, "w") as err:
        proc = subprocess.Popen([sys.executable, "-m", "collector.cli", "--config-file", str(conf)],
                                stderr=err, env=env)
    try:
        def started(count):
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                if log.read_text().count("started (pid") >= count:
                    return True
                time.sleep(0.05)
            return False

        assert started(1), log.read_text()
        proc.send_signal(signal.SIGHUP)
        assert started(2), log.read_text()
        conf.write_text(conf.read_text() + "# edited\n")
        assert started(3), log.read_text()
        assert proc.poll() is None
        assert log.read_text().count(f"started (pid {proc.pid})") == 3  # same process, re-exec'd
    finally:
        proc.terminate()
        proc.wait(10)


def test_sigterm_waits_for_the_command_and_commit_but_not_for_a_collection(tmp_path):
    fake = FakeCollector(name="fake", document={"v": 1})
    daemon = Daemon(settings(tmp_path), [fake])
    from collector import occ_loop
    real_run = occ_loop.run_command

    def run_command(command, paths):
        daemon._on_stop(signal.SIGTERM, None)  # arrives while the command runs: deferred
        return real_run(command, paths)

    import unittest.mock
    with unittest.mock.patch.object(occ_loop, "run_command", run_command):
        assert daemon.run() == 0
    assert (tmp_path / "cache" / "fake.json.last").exists()
    with pytest.raises(SystemExit):  # while collecting or sleeping: at once
        daemon._on_stop(signal.SIGTERM, None)
