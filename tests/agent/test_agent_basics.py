"""Paths under a root, atomic writes, and the clean-shutdown helper."""
import os
import signal
import stat
import threading

import pytest

from agent.paths import Paths, root_from
from agent.shutdown import Shutdown
from stoker_common import atomic


def test_paths_are_upstream_defaults_under_root():
    p = Paths.under("/tmp/r", env={})
    assert p.config_file == "/tmp/r/etc/os-collect-config.conf"
    assert p.cachedir == "/tmp/r/var/lib/os-collect-config"
    assert p.heat_config == "/tmp/r/var/run/heat-config/heat-config"
    assert p.deployed_dir == "/tmp/r/var/lib/heat-config/deployed"
    assert p.hook_dirs == ("/tmp/r/usr/libexec/heat-config/hooks", "/tmp/r/var/lib/heat-config/hooks")
    assert p.script_working_dir == "/tmp/r/var/lib/heat-config/heat-config-script"
    assert p.script_outputs_dir == "/tmp/r/var/run/heat-config/heat-config-script"
    assert p.state_dir == "/tmp/r/var/lib/stoker"
    assert p.outbox_dir == "/tmp/r/var/lib/stoker/outbox"
    assert Paths.under("/", env={}).cachedir == "/var/lib/os-collect-config"
    assert Paths.under("/tmp/r", env={"HEAT_CONFIG_HOOKS": "/opt/hooks"}).hook_dirs[0] == "/opt/hooks"
    assert p.resolve("/abs") == "/abs" and p.resolve("rel/x") == "/tmp/r/rel/x"


def test_root_precedence():
    assert root_from("/cli", {"STOKER_AGENT_ROOT": "/env"}) == "/cli"
    assert root_from(None, {"STOKER_AGENT_ROOT": "/env"}) == "/env"
    assert root_from(None, {}) == "/"


def test_atomic_write_sets_mode_and_leaves_no_temp_files(tmp_path):
    target = tmp_path / "f.json"
    target.write_text("old content that is longer than the new one")
    atomic.write_json(str(target), {"a": 1}, mode=0o640)
    assert target.read_text() == '{\n "a": 1\n}'
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o640
    assert os.listdir(tmp_path) == ["f.json"]


def test_atomic_write_failure_keeps_the_old_file(tmp_path):
    target = tmp_path / "f.json"
    target.write_text("old")
    with pytest.raises(TypeError):
        atomic.write_json(str(target), {"not serialisable": object()})
    assert target.read_text() == "old"
    assert os.listdir(tmp_path) == ["f.json"]


def test_shutdown_wakes_the_sleep_on_signal():
    with Shutdown() as shutdown:
        assert shutdown.sleep(0) is False
        timer = threading.Timer(0.05, os.kill, (os.getpid(), signal.SIGTERM))
        timer.start()
        assert shutdown.sleep(30) is True  # returns at once when the signal arrives
        timer.join()
        assert shutdown.sleep(30) is True
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL
