"""The ansible and salt hooks against the real tools, installed at test time from PyPI into a
throwaway venv (kept in the temp dir between runs; skipped with the reason when PyPI cannot be
reached or the install does not finish in time)."""
import os
from pathlib import Path

import pytest

from agent.paths import Paths
from tests.upstream import require
from agent.runner import DeploymentRunner


def tool_venv(package: str, executable: str, budget: float) -> Path:
    exe = require([package], budget) / "bin" / executable
    if not exe.exists():
        pytest.skip(f"{package} installed no {executable}")
    return exe


@pytest.fixture(scope="module")
def ansible_playbook():
    return tool_venv("ansible-core", "ansible-playbook", 120)


@pytest.fixture(scope="module")
def salt_call():
    return tool_venv("salt", "salt-call", 240)


def run_hook(tmp_path, hook_env, outbox, transport, item_factory, exe, **item):
    env = dict(hook_env, PATH=f"{exe.parent}{os.pathsep}{hook_env.get('PATH', '')}", LANG="C.UTF-8",
               LC_ALL="C.UTF-8", HOME=str(tmp_path),
               # the modules run with the tool's own interpreter, not whatever `python3` is on PATH
               ANSIBLE_PYTHON_INTERPRETER=str(exe.parent / "python"))
    root = tmp_path / "root"
    runner = DeploymentRunner(Paths.under(str(root), env=env), outbox, env=env)
    [report] = runner.run([item_factory(**item)])
    assert report.outcome == "deployed"
    [payload] = transport.payloads(item.get("ident", "dep-1"))
    return root, payload


PLAYBOOK = """- hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - copy:
        content: "{{ greeting }} from ansible"
        dest: "{{ target }}"
    - copy:
        content: "{{ greeting | upper }}"
        dest: "{{ heat_outputs_path }}.shout"
"""


@pytest.mark.timeout(300)
def test_ansible_playbook_for_real(tmp_path, hook_env, outbox, transport, item_factory, ansible_playbook):
    target = tmp_path / "greeting.txt"
    root, payload = run_hook(tmp_path, hook_env, outbox, transport, item_factory, ansible_playbook,
                             group="ansible", config=PLAYBOOK, outputs=[{"name": "shout"}],
                             inputs=[{"name": "greeting", "type": "String", "value": "hello"},
                                     {"name": "target", "type": "String", "value": str(target)}])
    assert payload["deploy_status_code"] == 0, payload
    assert target.read_text() == "hello from ansible"
    assert payload["shout"] == "HELLO"
    assert "PLAY RECAP" in payload["deploy_stdout"]


@pytest.mark.timeout(300)
def test_ansible_failure_for_real(tmp_path, hook_env, outbox, transport, item_factory, ansible_playbook):
    config = "- hosts: localhost\n  connection: local\n  gather_facts: false\n  tasks:\n    - fail: {msg: broken on purpose}\n"
    _, payload = run_hook(tmp_path, hook_env, outbox, transport, item_factory, ansible_playbook,
                          group="ansible", config=config)
    assert payload["deploy_status_code"] == 2
    assert "broken on purpose" in payload["deploy_stdout"]


SALT_STATE = """write greeting:
  file.managed:
    - name: {{ pillar['target'] }}
    - contents: {{ pillar['greeting'] }} from salt
write output:
  file.managed:
    - name: {{ pillar['heat_outputs_path'] }}.shout
    - contents: {{ pillar['greeting'] | upper }}
"""


@pytest.mark.timeout(300)
def test_salt_state_for_real(tmp_path, hook_env, outbox, transport, item_factory, salt_call):
    target = tmp_path / "greeting.txt"
    _, payload = run_hook(tmp_path, hook_env, outbox, transport, item_factory, salt_call,
                          group="salt", config=SALT_STATE, outputs=[{"name": "shout"}],
                          inputs=[{"name": "greeting", "type": "String", "value": "hello"},
                                  {"name": "target", "type": "String", "value": str(target)}])
    assert payload["deploy_status_code"] == 0, payload
    assert target.read_text().strip() == "hello from salt"
    assert payload["shout"].strip() == "HELLO"


@pytest.mark.timeout(300)
def test_salt_failing_state_for_real(tmp_path, hook_env, outbox, transport, item_factory, salt_call):
    config = "broken:\n  test.fail_without_changes:\n    - name: on purpose\n"
    _, payload = run_hook(tmp_path, hook_env, outbox, transport, item_factory, salt_call, group="salt",
                          config=config)
    assert payload["deploy_status_code"] != 0, payload
