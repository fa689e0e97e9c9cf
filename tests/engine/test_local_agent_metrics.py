"""The local driver's agents send metrics (stoker evaluates the local cloud's alarms on them)."""
import argparse

import pytest

from agent import settings
from collector import config
from metadata_server import cli
from metadata_server.engine.drivers.local import LocalDriver

WATCH = {"metadata_url": "http://127.0.0.1:1/v1/t/servers/s/metadata", "auth_token": "tok"}


def test_the_agents_config_turns_metrics_on_at_the_interval_given(tmp_path):
    conf = tmp_path / "os-collect-config.conf"
    conf.write_text(LocalDriver(metrics_interval=2.5)._agent_conf(WATCH))
    own = settings.load(str(conf))
    assert (own.metrics, own.metrics_interval, own.metrics_batch) == (True, 2.5, 2.5)
    assert config.load(str(conf)).collectors == ("watch",)


def test_zero_leaves_them_off(tmp_path):
    conf = tmp_path / "os-collect-config.conf"
    conf.write_text(LocalDriver(metrics_interval=0)._agent_conf(WATCH))
    assert settings.load(str(conf)).metrics is False
    assert LocalDriver()._metrics_interval == 60


def test_the_server_option_takes_seconds_or_zero():
    parser = argparse.ArgumentParser(prog="stoker")
    cli.register(parser.add_subparsers(dest="command"), "server", "serve")
    assert parser.parse_args(["server"]).local_agent_metrics_interval == 60
    assert parser.parse_args(["server", "--local-agent-metrics-interval", "0"]).local_agent_metrics_interval == 0
    for bad in ("-1", "soon", "inf"):
        with pytest.raises(SystemExit):
            parser.parse_args(["server", "--local-agent-metrics-interval", bad])
