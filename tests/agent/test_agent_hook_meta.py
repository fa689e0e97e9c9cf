"""Each built-in hook declares its group, tool, tool variable and install hint once, in its module's
`meta`; the registry finds hooks by it and reading it loads no heavy module."""
import importlib
import subprocess
import sys
from pathlib import Path

from agent import hooks
from agent.hooks import base

REPO = Path(__file__).resolve().parents[2]


def test_the_registry_serves_every_hook_by_the_group_its_meta_declares(tmp_path):
    groups = {}
    for name in hooks.BUILTIN_MODULES:
        meta = importlib.import_module(f"agent.hooks.{name}").meta
        groups[meta.group] = name
        assert (meta.tool is None) == (meta.tool_env is None) == (meta.install_hint is None), name
        found = hooks.find(meta.group, [str(tmp_path)])
        assert found.builtin and found.argv[-1] == f"agent.hooks.{name}"
    assert len(groups) == len(hooks.BUILTIN_MODULES) == len(hooks.builtin())


def test_a_missing_tool_is_reported_with_the_meta_variable_and_hint():
    puppet = importlib.import_module("agent.hooks.puppet")
    result = puppet.run({"id": "d1", "config": ""}, {"PATH": "/nonexistent", "HEAT_PUPPET_CMD": "no-such-puppet"})
    assert result["deploy_status_code"] == base.MISSING_TOOL_STATUS
    assert result["deploy_stderr"] == ("stoker: no-such-puppet not found on PATH: "
                                       f"{puppet.meta.install_hint} (or point HEAT_PUPPET_CMD at it)\n")


def test_reading_the_hooks_meta_loads_no_yaml():
    code = "import sys; from agent import hooks; hooks.builtin(); print('yaml' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "False", out.stderr
