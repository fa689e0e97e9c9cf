"""`stoker demo --scaling`: a group that scales on its own agents' metrics, end to end.

Starts a server (SQLite in a throwaway state directory, the local driver, short periods) and
creates examples/scaling/scaling.yaml: an OS::Heat::AutoScalingGroup of 1 whose members are
local servers, each with a SoftwareDeployment that installs a metrics probe; two OS::Aodh::Alarm
on the probe's `demo_load` drive a scale-up and a scale-down policy. The demo writes a high load
to the file the probes read: the agents report it, the alarm fires, the group grows to 3 and each
new member's deployment completes. Then it writes a low load and the group shrinks back to 1.
It prints a timeline and stops everything it started.

The same `Scaling` steps serve the end-to-end test (tests/e2e/test_scaling_demo.py) and the
bench (bench/scaling.py).
"""
from __future__ import annotations

import secrets
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from cli.processes import REPO, Process, ProcessFailed, start_server

EXAMPLE = REPO / "examples" / "scaling"
TENANT = "demo"
HIGH, LOW = 90, 5           # the loads the demo writes (the alarms' thresholds are 50 and 20)


@dataclass
class Periods:
    """Short enough for a demo: Aodh's and the agents' defaults are a minute each."""
    metrics_interval: float = 1.0     # agents sample and send every second
    evaluation_interval: float = 1.0  # each alarm evaluated every second
    period: int = 3                   # seconds of samples an evaluation averages
    cooldown: int = 0                 # the group waits for new members' deployments instead

    def server_args(self) -> list[str]:
        return ["--local-agent-metrics-interval", f"{self.metrics_interval:g}",
                "--metrics-min-interval", f"{self.metrics_interval / 2:g}",
                "--alarm-evaluation-interval", f"{self.evaluation_interval:g}"]


class ScalingFailed(ProcessFailed):
    pass


@dataclass
class Scaling:
    """The scenario's steps against a running server; every step waits for its outcome."""
    base: str
    token: str
    work: Path
    periods: Periods = field(default_factory=Periods)
    stack_name: str = "scaling"
    started: float = field(default_factory=time.monotonic)
    timeline: list[tuple[float, str]] = field(default_factory=list)
    say: Callable[[str], None] = lambda line: None

    def __post_init__(self) -> None:
        import requests

        self.session = requests.Session()
        self.session.headers["X-Auth-Token"] = self.token
        self.api = f"{self.base}/v1/{TENANT}"
        self.load_file = self.work / "load"
        self.stack_url = ""

    # -- steps ------------------------------------------------------------------------------
    def create(self, deadline: float = 60) -> None:
        self.set_load(0, note=False)
        answer = self._check(self.session.post(f"{self.api}/stacks", timeout=10, json={
            "stack_name": self.stack_name,
            "template": (EXAMPLE / "scaling.yaml").read_text(),
            "files": {"member.yaml": (EXAMPLE / "member.yaml").read_text()},
            "parameters": {"load_file": str(self.load_file), "period": self.periods.period,
                           "cooldown": self.periods.cooldown}}), 201)
        self.stack_url = answer.headers["Location"]
        stack = self.wait(lambda: self._settled(), deadline, "the stack to be created")
        if stack["stack_status"] != "CREATE_COMPLETE":
            raise ScalingFailed(f"stack {stack['stack_status']}: {stack['stack_status_reason']}")
        self.note("stack CREATE_COMPLETE with 1 member")

    def set_load(self, load: int, note: bool = True) -> float:
        """Every member's probe reports `load` from its next sample; the time it was written."""
        tmp = self.load_file.with_suffix(".tmp")
        tmp.write_text(f"{load}\n")
        tmp.replace(self.load_file)
        if note:
            self.note(f"load set to {load}")
        return time.monotonic()

    def wait_members(self, size: int, deadline: float = 90) -> list[dict]:
        """Once the group has `size` members and each one's deployment is COMPLETE: those
        deployments."""
        seen = [None]

        def done():
            now, deployments = self.size(), self.deployments()
            failed = [d for d in deployments if d["status"] == "FAILED"]
            if failed:
                raise ScalingFailed(f"deployment {failed[0]['id']} FAILED: {failed[0]['status_reason']}")
            complete = [d for d in deployments if d["status"] == "COMPLETE"]
            if (now, len(complete)) != seen[0]:   # the timeline shows each step on the way
                seen[0] = (now, len(complete))
                self.note(f"{now} member(s), {len(complete)} deployment(s) COMPLETE")
            return complete if now == size == len(complete) == len(deployments) else None

        return self.wait(done, deadline, f"{size} members with their deployments COMPLETE")

    def delete(self, deadline: float = 60) -> None:
        if not self.stack_url:
            return
        self.session.delete(self.stack_url, timeout=10)
        self.wait(lambda: self._gone(), deadline, "the stack to be deleted")

    # -- reads ------------------------------------------------------------------------------
    def size(self) -> int | None:
        answer = self.session.get(f"{self.stack_url}/outputs/size", timeout=10)
        if answer.status_code != 200:
            return None
        return answer.json()["output"].get("output_value")

    def deployments(self) -> list[dict]:
        answer = self._check(self.session.get(f"{self.api}/software_deployments", timeout=10), 200)
        return answer.json()["software_deployments"]

    def alarm_events(self) -> list[str]:
        reasons = []
        for name in ("load_high", "load_low"):
            events = self.session.get(f"{self.stack_url}/resources/{name}/events", timeout=10).json()
            reasons += [f"{name}: {e['resource_status_reason']}" for e in events.get("events", [])
                        if e["resource_status"].startswith("SIGNAL")]
        return reasons

    # -- plumbing ---------------------------------------------------------------------------
    def note(self, what: str) -> None:
        at = time.monotonic() - self.started
        self.timeline.append((at, what))
        self.say(f"{at:6.1f}s  {what}")

    def wait(self, value: Callable[[], object], timeout: float, what: str, pause: float = 0.1):
        end = time.monotonic() + timeout
        while True:
            found = value()
            if found:
                return found
            if time.monotonic() > end:
                raise ScalingFailed(f"timed out after {timeout:g}s waiting for {what}")
            time.sleep(pause)

    def _settled(self) -> dict | None:
        stack = self.session.get(self.stack_url, timeout=10).json()["stack"]
        return None if stack["stack_status"].endswith("IN_PROGRESS") else stack

    def _gone(self) -> bool:
        answer = self.session.get(self.stack_url, timeout=10)
        return answer.status_code == 404 or answer.json()["stack"]["stack_status"] in (
            "DELETE_COMPLETE", "DELETE_FAILED")

    @staticmethod
    def _check(answer, status: int):
        if answer.status_code != status:
            raise ScalingFailed(f"{answer.request.method} {answer.url} -> {answer.status_code}: "
                                f"{answer.text[:300]}")
        return answer


def start(state: Path, periods: Periods, admin_token: str) -> tuple[Process, str]:
    return start_server(state / "server", admin_token, state / "server.log", None, "127.0.0.1:0",
                        *periods.server_args())


def run(keep: bool = False) -> int:
    from metadata_server.engine.drivers.local_servers import kill_all_under

    wall = time.monotonic()
    state = Path(tempfile.mkdtemp(prefix="stoker-demo-scaling-"))
    token = secrets.token_hex(24)
    periods = Periods()
    server = None
    ok = False
    try:
        server, base = start(state, periods, token)
        print(f"server: {base} (SQLite in {state / 'server'}); agents sample every "
              f"{periods.metrics_interval:g}s, alarms evaluated every {periods.evaluation_interval:g}s "
              f"over {periods.period}s")
        scenario = Scaling(base, token, state, periods, say=print)
        scenario.create()
        scenario.set_load(HIGH)
        scenario.wait_members(3)
        scenario.set_load(LOW)
        scenario.wait_members(1)
        print("alarm transitions:")
        for reason in scenario.alarm_events():
            print(f"  {reason}")
        scenario.delete()
        ok = True
    except ProcessFailed as exc:
        print(f"demo failed: {exc}", file=sys.stderr)
    finally:
        if server is not None:
            server.stop()
        kill_all_under(state)   # the local servers' agents, should the delete not have finished
        if not ok and server is not None:
            tail = server.log().splitlines()[-20:]
            print(f"--- last lines of {server.log_path.name} ---", file=sys.stderr)
            print("\n".join(tail), file=sys.stderr)
        if keep:
            print(f"state kept in {state}")
        else:
            shutil.rmtree(state, ignore_errors=True)
    print(f"demo {'passed' if ok else 'FAILED'} in {time.monotonic() - wall:.1f}s; all processes stopped")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(run(keep="--keep" in sys.argv[1:]))
