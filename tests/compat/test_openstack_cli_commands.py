"""Every `openstack orchestration ...` and `openstack stack ...` command of python-heatclient
(from PyPI at test time) against one real stoker server, as a table of commands and what each
must answer (fixtures/openstack_cli/commands.yaml); a command the client gains later fails the
coverage check until the table runs it. The client runs in its own venv, one process for the
whole table (openstack_cli_driver.py)."""
from __future__ import annotations

import json
import re
import secrets
import shlex
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from cli.processes import start_server

pytestmark = [pytest.mark.slow, pytest.mark.timeout(400)]
FIXTURES = Path(__file__).parent / "fixtures" / "openstack_cli"
TABLE = yaml.safe_load((FIXTURES / "commands.yaml").read_text())
UNTIL = 30.0
NO_FORMAT = ("-f", "json")
PLACEHOLDER = re.compile(r"\{(\w+)\}")


class Client:
    """The driver process: `run(argv)` answers {code, out, err}."""

    def __init__(self, venv: Path, base: str, token: str, cwd: Path):
        self.prefix = ["--os-auth-type", "admin_token", "--os-endpoint", f"{base}/v1/proj",
                       f"--os-token={token}"]
        self.process = subprocess.Popen(
            [str(venv / "bin" / "python"), str(Path(__file__).parent / "openstack_cli_driver.py")],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=cwd)

    def run(self, args: list[str]) -> dict:
        self.process.stdin.write(json.dumps(self.prefix + args) + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        assert line, f"the openstack client driver ended at {args}"
        return json.loads(line)

    def close(self) -> None:
        self.process.stdin.close()
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def _json(out: str):
    """The JSON a command printed (with --wait, events come first)."""
    lines = out.splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith(("{", "["))), None)
    return None if start is None else json.loads("\n".join(lines[start:]))


def matches(expected, actual) -> bool:
    if expected == "*":
        return actual is not None
    if isinstance(expected, dict):
        return isinstance(actual, dict) and all(
            key in actual and matches(value, actual[key]) for key, value in expected.items())
    if isinstance(expected, list):
        if not isinstance(actual, list):
            return False
        if not expected:
            return actual == []
        if all(not isinstance(e, (dict, list)) for e in expected) and len(expected) == len(actual):
            return expected == actual
        return all(any(matches(e, a) for a in actual) for e in expected)
    return expected == actual


def _fill(value, saved: dict):
    if isinstance(value, str):   # a value an earlier row failed to save stays missing
        return PLACEHOLDER.sub(lambda m: str(saved.get(m.group(1), f"no-{m.group(1)}")), value)
    if isinstance(value, dict):
        return {k: _fill(v, saved) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, saved) for v in value]
    return value


def _pick(value, path: str):
    for part in path.split("."):
        value = value[int(part)] if isinstance(value, list) else value[part]
    return value


def _heat_commands(venv: Path) -> set[str]:
    """The orchestration and stack commands the installed python-heatclient offers."""
    (entry_points,) = venv.glob("lib/python3*/site-packages/python_heatclient-*.dist-info/"
                                "entry_points.txt")
    section, found = None, set()
    for line in entry_points.read_text().splitlines():
        if line.startswith("["):
            section = line.strip("[]")
        elif section == "openstack.orchestration.v1" and "=" in line:
            name = line.split("=")[0].strip()
            if name.startswith(("stack_", "orchestration_")):
                found.add(name.replace("_", " "))
    return found


def _command_of(args: list[str], commands: set[str]) -> str | None:
    words = [a for a in args if not a.startswith("-")]
    for size in range(len(words), 0, -1):
        if " ".join(words[:size]) in commands:
            return " ".join(words[:size])
    return None


def _one(client: Client, row: dict, saved: dict) -> tuple[bool, str]:
    """Run one row; (whether it answered as the table says, what it answered)."""
    args = shlex.split(_fill(row["run"], saved)) + ([] if row.get("text") else list(NO_FORMAT))
    deadline = time.monotonic() + UNTIL
    while True:
        answer = client.run(args)
        told = f"exit {answer['code']}: {(answer['err'] or answer['out']).strip()[-300:]}"
        if "Traceback" in answer["err"]:
            return False, told
        if "fails" in row:
            return answer["code"] == 1 and row["fails"] in answer["err"], told
        if answer["code"] != 0:
            if "until" in row and time.monotonic() < deadline:
                time.sleep(0.5)
                continue
            return False, told
        if row.get("text"):
            return all(text in answer["out"] for text in row.get("expect") or []), told
        output = _json(answer["out"])
        wanted = _fill(row.get("until", row.get("expect")), saved)
        if wanted is not None and not matches(wanted, output):
            if "until" in row and time.monotonic() < deadline:
                time.sleep(0.5)
                continue
            return False, f"{told}\n{json.dumps(output)[:600]}"
        for name, path in (row.get("save") or {}).items():
            saved[name] = _pick(output, path)
        return True, told


def test_every_orchestration_and_stack_command(openstack_cli, tmp_path):
    venv = openstack_cli.parent.parent
    commands = _heat_commands(venv)
    covered = {_command_of(shlex.split(row["run"]), commands) for row in TABLE}
    assert commands - covered == set(), "commands the table does not run yet"
    for template in FIXTURES.glob("*.*"):
        (tmp_path / template.name).write_text(template.read_text())
    token = secrets.token_urlsafe(16)
    process, base = start_server(tmp_path / "server", token, tmp_path / "server.log", None,
                                 "127.0.0.1:0", "--stack-adopt")
    client = Client(venv, base, token, tmp_path)
    failures, saved = [], {}
    try:
        for row in TABLE:
            ok, told = _one(client, row, saved)
            if not ok:
                failures.append(f"openstack {row['run']}\n  {told}")
    finally:
        client.close()
        process.stop()
    assert not failures, "\n".join(failures)
    assert "Traceback" not in process.log()
