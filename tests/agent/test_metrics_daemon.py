"""`stoker agent` with metrics on, as a guest runs it: its samples reach the server's metrics URL."""
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from agent import cli, settings
from collector import config
from collector.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.timeout(60)


def agent_process(root, *flags):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HEAT_", "STOKER_"))}
    env["PYTHONPATH"] = str(REPO)
    return subprocess.Popen([sys.executable, "-m", "cli.main", "agent", "--root", str(root), *flags],
                            cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def test_the_daemon_sends_built_in_and_script_metrics_with_its_token(tmp_path, http_server):
    posts, arrived = [], threading.Event()

    def answer(request):
        if request.method == "POST" and request.path == "/v1/t/servers/s/metrics":
            posts.append(request)
            if any("queue_depth" in s["metrics"] for s in request.json()["samples"]):
                arrived.set()
            return 202, {"Content-Type": "application/json"}, b'{"accepted": 1}'
        return 200, {"ETag": '"e1"', "Content-Type": "application/json"}, b'{"deployments": []}'

    http_server.handler = answer
    conf = tmp_path / "etc/os-collect-config.conf"
    conf.parent.mkdir(parents=True)
    conf.write_text(config.render({"watch": {"metadata_url": http_server.url("/v1/t/servers/s/metadata"),
                                             "auth_token": "tok"}}, collectors=["watch"], command="true")
                    + "\n[agent]\nmetrics = on\nmetrics_interval = 0.2\n")
    probe = tmp_path / "etc/stoker/metrics.d/queue"
    probe.parent.mkdir(parents=True)
    probe.write_text("#!/bin/sh\necho queue_depth 17\n")
    probe.chmod(0o755)
    proc = agent_process(tmp_path, "--metrics-batch", "0.5")
    try:
        assert arrived.wait(30), "no metrics arrived"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0
    finally:
        proc.kill()
        err = proc.communicate()[1]
    request = posts[-1]
    assert request.headers["x-auth-token"] == "tok"
    sample = request.json()["samples"][-1]
    assert sample["metrics"]["queue_depth"] == 17.0
    assert {"cpu_util", "memory_util", "memory.usage", "load1", "load5", "load15", "disk_util"} <= set(sample["metrics"])
    assert "metrics: a sample every 0.2s, sent every 0.5s to " in err and "Traceback" not in err


def test_metrics_are_off_by_default_and_the_section_and_flags_turn_them_on(tmp_path):
    conf = tmp_path / "agent.conf"
    conf.write_text("[DEFAULT]\ncollectors = watch\n")
    assert settings.load(str(conf)).metrics is False
    conf.write_text("[agent]\nmetrics = on\nmetrics_interval = 5\nmetrics_batch = 30\nmetrics_dir = /opt/probes\n")
    own = settings.load(str(conf))
    assert (own.metrics, own.metrics_interval, own.metrics_batch, own.metrics_dir) == (True, 5, 30, "/opt/probes")
    import argparse
    parser = argparse.ArgumentParser(prog="stoker")
    cli.register(parser.add_subparsers(dest="command"), "agent", "run the agent")
    args = parser.parse_args(["agent", "--no-metrics", "--metrics-interval", "2"])
    assert (cli._choose(args, own, "metrics"), cli._choose(args, own, "metrics_interval"),
            cli._choose(args, own, "metrics_batch")) == (False, 2, 30)


@pytest.mark.parametrize("text, message", [
    ("metrics = maybe", "[agent] metrics = 'maybe': must be on or off"),
    ("metrics_interval = 0", "[agent] metrics_interval = '0': must be a number of seconds above 0"),
    ("metrics_batch = inf", "[agent] metrics_batch = 'inf': must be a number of seconds above 0"),
])
def test_bad_metrics_settings_are_refused_naming_file_key_and_value(tmp_path, text, message):
    conf = tmp_path / "agent.conf"
    conf.write_text(f"[agent]\n{text}\n")
    with pytest.raises(ConfigError) as caught:
        settings.load(str(conf))
    assert str(caught.value) == f"{conf}: {message}"


def test_with_no_stoker_url_metrics_stay_off_with_one_warning(tmp_path, caplog):
    from agent.metrics import wiring
    assert wiring.build(1, 1, str(tmp_path), str(tmp_path), ["heat"], {"heat": {}}) is None
    assert "there is nowhere to send them; metrics off" in caplog.text


def test_doctor_says_where_metrics_go_and_refuses_a_bad_setting(tmp_path):
    from agent import doctor
    from agent.paths import Paths
    conf = tmp_path / "etc/os-collect-config.conf"
    conf.parent.mkdir(parents=True)
    watch = {"metadata_url": "http://127.0.0.1:9/v1/t/servers/s/metadata", "auth_token": "tok"}
    base = config.render({"watch": watch}, collectors=["watch"], command="true")
    paths = Paths.under(str(tmp_path))
    conf.write_text(base)
    assert doctor._metrics(paths, str(conf), config.load(str(conf)))[0][:2] == ("ok", "metrics")
    probe = tmp_path / "etc/stoker/metrics.d/probe"
    probe.parent.mkdir(parents=True)
    probe.write_text("#!/bin/sh\necho x 1\n")
    probe.chmod(0o755)
    conf.write_text(base + "\n[agent]\nmetrics = on\nmetrics_interval = 5\n")
    [(level, what, detail)] = doctor._metrics(paths, str(conf), config.load(str(conf)))
    assert (level, what) == ("ok", "metrics")
    assert detail == (f"a sample every 5s, sent every 60s to http://127.0.0.1:9/v1/t/servers/s/metrics; "
                      f"1 script(s) in {probe.parent}")
    conf.write_text(base + "\n[agent]\nmetrics = sometimes\n")
    [(level, what, detail)] = doctor._metrics(paths, str(conf), config.load(str(conf)))
    assert (level, what) == ("FAIL", "agent settings") and "metrics = 'sometimes'" in detail


def test_doctor_shows_heat_credentials_send_through_keystone_without_the_password(tmp_path):
    from agent import doctor
    from agent.paths import Paths
    conf = tmp_path / "etc/os-collect-config.conf"
    conf.parent.mkdir(parents=True)
    heat = {"auth_url": "http://127.0.0.1:9/v3", "user_id": "srv-1", "password": "pw-secret",
            "project_id": "ten", "stack_id": "s/1", "resource_name": "server"}
    conf.write_text(config.render({"heat": heat}, collectors=["heat"], command="true")
                    + "\n[agent]\nmetrics = on\n")
    [(level, what, detail)] = doctor._metrics(Paths.under(str(tmp_path)), str(conf), config.load(str(conf)))
    assert (level, what) == ("ok", "metrics"), detail
    assert "servers/srv-1/metrics on the orchestration endpoint of keystone http://127.0.0.1:9/v3" in detail
    assert "pw-secret" not in detail
