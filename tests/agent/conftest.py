"""Fixtures shared by the agent tests: a scratch root, a loopback HTTP server, a fake transport."""
from __future__ import annotations

import os

import pytest

from agent.outbox import Outbox
from agent.paths import Paths
from agent.runner import DeploymentRunner
from agent.signals import REGISTRY, TransportSelector
from agent.signals.fake import FakeTransport


@pytest.fixture
def hook_env():
    """The environment hooks run with: this process's, minus anything that would redirect them."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HEAT_", "STOKER_")) and k != "PYTHONPATH"}
    return env


@pytest.fixture
def paths(tmp_path, hook_env):
    return Paths.under(str(tmp_path / "root"), env=hook_env)


@pytest.fixture
def transport():
    return FakeTransport()


def behind_signal_urls(factory):
    """A selector with REGISTRY's rules for items that carry a deploy_signal_id (temp URL and CFN),
    `factory` making the transport behind both."""
    return TransportSelector([(name, rule, factory) for name, rule, _ in REGISTRY
                              if name in ("TEMP_URL_SIGNAL", "CFN_SIGNAL")])


@pytest.fixture
def url_selector():
    return behind_signal_urls


@pytest.fixture
def outbox(paths, transport):
    # The real selection rules for signal URLs, with the fake behind them.
    # retry_base=0: a failed signal is due again at once, so tests need not wait out a backoff.
    return Outbox(paths.outbox_dir, choose=behind_signal_urls(lambda: transport), retry_base=0)


@pytest.fixture
def runner(paths, outbox, hook_env):
    return DeploymentRunner(paths, outbox, env=hook_env)


def make_item(ident="dep-1", group="script", config="#!/bin/sh\necho hi\n", inputs=(), outputs=(),
              name=None, signal_url="http://127.0.0.1:9/v1/signal/deployments/x?sig=s3cret", verb="PUT", **extra):
    """A deployment item in the server's shape; `signal_url=None` makes it NO_SIGNAL."""
    derived = [
        {"name": "deploy_server_id", "type": "String", "value": "srv-1"},
        {"name": "deploy_action", "type": "String", "value": "CREATE"},
    ]
    if signal_url:
        derived += [{"name": "deploy_signal_id", "type": "String", "value": signal_url},
                    {"name": "deploy_signal_verb", "type": "String", "value": verb}]
    item = {"id": ident, "name": name or ident, "group": group, "creation_time": "2026-01-01T00:00:00Z",
            "config": config, "options": {}, "inputs": list(inputs) + derived, "outputs": list(outputs)}
    item.update(extra)
    return item


@pytest.fixture
def item_factory():
    return make_item


