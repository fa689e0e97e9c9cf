"""The agent runs on Python 3.9+; the rest of `stoker` needs 3.11 and says so.

The real guard is the agent-side suites running on 3.9 (`make test-agent-pythons`, in CI); these
tests catch the commonest slip on any Python, and check the refusal and the 3.9 re-exec path.
"""
import ast
import subprocess
import sys
from pathlib import Path

import pytest

from cli.main import SUBCOMMANDS, refusal
from collector import daemon

REPO = Path(__file__).resolve().parents[2]
AGENT_SIDE = ["agent", "collector", "applier", "refresher", "stoker_common"]
AGENT_FILES = sorted(p for d in AGENT_SIDE for p in (REPO / d).rglob("*.py")) + [REPO / "cli" / "main.py"]


@pytest.mark.parametrize("path", AGENT_FILES, ids=lambda p: str(p.relative_to(REPO)))
def test_agent_module_parses_as_python_3_9(path):
    # match statements, parenthesised context managers and the like are refused by 3.9's grammar
    ast.parse(path.read_text(encoding="utf-8"), filename=str(path), feature_version=(3, 9))


@pytest.mark.parametrize("path", AGENT_FILES, ids=lambda p: str(p.relative_to(REPO)))
def test_agent_module_annotations_are_not_evaluated(path):
    # `str | None` in an annotation is evaluated at import on 3.9 unless annotations are postponed
    tree = ast.parse(path.read_text(encoding="utf-8"))
    unions = [node.lineno for node in ast.walk(tree)
              if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.AnnAssign, ast.arg))
              and any(isinstance(n, ast.BinOp) and isinstance(n.op, ast.BitOr)
                      for ann in _annotations(node) for n in ast.walk(ann))]
    postponed = any(isinstance(node, ast.ImportFrom) and node.module == "__future__"
                    and any(a.name == "annotations" for a in node.names) for node in tree.body)
    assert postponed or not unions, f"{path}:{unions[0]}: a `X | Y` annotation needs " \
                                    f"`from __future__ import annotations` to import on Python 3.9"


def _annotations(node):
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return [node.returns] if node.returns else []
    return [node.annotation] if node.annotation is not None else []


def test_every_subcommand_but_agent_is_refused_before_3_11():
    for command in SUBCOMMANDS:
        message = refusal(command, (3, 9, 18))
        if command == "agent":
            assert message is None
        else:
            assert message.startswith(f"stoker {command} needs Python 3.11 or newer; this is Python 3.9.18.")
        assert refusal(command, (3, 11, 0)) is None
        assert refusal(command, (3, 13, 0)) is None
    assert refusal(None, (3, 9, 0)) is None and refusal("no-such", (3, 9, 0)) is None


@pytest.mark.skipif(sys.version_info >= (3, 11), reason="the refusal shows on Python 3.9 and 3.10")
def test_server_refuses_on_this_python_and_agent_starts():
    done = subprocess.run([sys.executable, "-m", "cli.main", "server", "--state-dir", "/nonexistent"],
                          cwd=REPO, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "stoker server needs Python 3.11 or newer" in done.stderr
    assert "Traceback" not in done.stderr
    agent = subprocess.run([sys.executable, "-m", "cli.main", "agent", "--help"],
                           cwd=REPO, capture_output=True, text=True, timeout=60)
    assert agent.returncode == 0, agent.stderr


def test_re_exec_arguments_without_orig_argv(monkeypatch):
    # Python 3.9 has no sys.orig_argv: `python -m collector.cli ...` must re-exec as a module
    monkeypatch.delattr(sys, "orig_argv", raising=False)
    monkeypatch.setattr(sys, "argv", ["/x/collector/cli.py", "--config-file", "c.conf"])
    main = type(sys)("__main__")
    main.__spec__ = type("Spec", (), {"name": "collector.cli"})()
    monkeypatch.setitem(sys.modules, "__main__", main)
    assert daemon.own_arguments() == ["-m", "collector.cli", "--config-file", "c.conf"]
    main.__spec__ = None  # run as a script (a console-script wrapper)
    assert daemon.own_arguments() == ["/x/collector/cli.py", "--config-file", "c.conf"]
