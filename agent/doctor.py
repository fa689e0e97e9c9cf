"""`stoker agent doctor`: is this agent able to do its job, and if not, what to fix.

Checks, each one line `ok|warn|FAIL  what: detail`: the config file (parses, not readable by
others), the metadata server (reachable, credentials accepted), the clock (skew against the
server's Date header), hooks (external ones found, built-in ones whose tool is missing), and the
agent's own state (directory writable, signals pending or refused, deployments interrupted).
Exit status 1 when any check FAILs.
"""
from __future__ import annotations

import argparse
import os
import stat
import sys
import time
from typing import Callable

from agent import hooks
from agent.outbox import Outbox
from agent.paths import Paths, root_from
from agent.state import RUNNING, StateStore
from collector import config as agent_config
from collector.errors import ConfigError
from stoker_common.http_client import HttpClient, ResponseTooLarge, TransportError
from stoker_common.http_errors import redact_url
from stoker_common.retry_after import http_date

OK, WARN, FAIL = "ok", "warn", "FAIL"
SKEW_WARN = 60.0


def register(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = sub.add_parser("doctor", help="check configuration, server, credentials, hooks, clock",
                            description="Check what the agent needs and say what to fix; exit status 1 "
                            "if any check fails.")
    parser.set_defaults(func=main)
    return parser


def main(args: argparse.Namespace) -> int:
    paths = Paths.under(root_from(getattr(args, "root", None)))
    results = check(paths, getattr(args, "config_file", None) or paths.config_file)
    width = max(len(what) for _, what, _ in results)
    for level, what, detail in results:
        sys.stdout.write(f"{level:<4}  {what:<{width}}  {detail}\n")
    return 1 if any(level == FAIL for level, _, _ in results) else 0


def check(paths: Paths, config_path: str, env=None, http: HttpClient | None = None,
          clock: Callable[[], float] = time.time) -> list[tuple[str, str, str]]:
    env = os.environ if env is None else env
    results: list[tuple[str, str, str]] = []
    try:
        config = agent_config.load(config_path)
    except ConfigError as exc:
        results.append((FAIL, "config", str(exc)))
        config = None
    if config is not None:
        results.append((OK, "config", f"{config_path}: collectors {', '.join(config.collectors)}"))
        mode = stat.S_IMODE(os.stat(config_path).st_mode)
        if mode & 0o077:
            results.append((WARN, "config mode", f"{config_path} is mode {mode:04o}; it holds the server's "
                            f"token: chmod 600 {config_path}"))
        results += _server(config, http or HttpClient(user_agent="stoker-agent-doctor"), clock)
        results += _metrics(paths, config_path, config)
    results += _hooks(paths, env)
    results += _state(paths)
    return results


def _server(config, http: HttpClient, clock) -> list[tuple[str, str, str]]:
    watch = config.settings.get("watch")
    if watch is None:
        return [(WARN, "server", "the watch collector is not configured; nothing to check")]
    url, token = watch.get("metadata_url"), watch.get("auth_token")
    if not url:
        return [(FAIL, "server", "no metadata_url in [watch]: copy agent_config from the server's "
                                 "POST /v1/{tenant}/servers answer")]
    shown = redact_url(url)
    headers = {"Accept": "application/json"}
    if token:
        headers["X-Auth-Token"] = token
    before = clock()
    try:
        resp = http.request("GET", url, headers, timeout=watch.get("timeout") or 10.0)
    except ResponseTooLarge as exc:
        return [(FAIL, "server", f"{exc.url}: {exc.reason}")]
    except TransportError as exc:
        return [(FAIL, "server", f"cannot reach {shown}: {exc.reason}")]
    after = clock()
    results = []
    if resp.status in (401, 403):
        results.append((OK, "server", f"{shown} is reachable"))
        what = "no auth_token in [watch]" if not token else f"the server refused the token ({resp.status})"
        results.append((FAIL, "credentials", f"{what}: use the token the server gave when this server was "
                        "registered (or rotate it)"))
    elif resp.ok:
        results.append((OK, "server", f"{shown} answered {resp.status}"))
        results.append((OK, "credentials", "token accepted"))
        try:
            count = len(resp.json().get("deployments") or [])
            results.append((OK, "document", f"{count} deployment(s) listed for this server"))
        except (ValueError, AttributeError):
            results.append((FAIL, "document", f"{shown} did not answer a JSON object"))
    else:
        results.append((FAIL, "server", f"{shown} answered {resp.status} {resp.reason}"))
    date = resp.headers.get("Date")
    if date:
        server_time = http_date(date.strip())
        if server_time is not None:
            # Date has a one-second resolution; compare against the middle of the exchange.
            skew = (before + after) / 2 - server_time.timestamp()
            level = WARN if abs(skew) > SKEW_WARN else OK
            results.append((level, "clock", f"{skew:+.0f}s against the server" + (
                " (signed URLs and token expiry may misbehave: fix NTP)" if level == WARN else "")))
        else:
            results.append((WARN, "clock", f"cannot read the server's Date header {date!r}"))
    else:
        results.append((WARN, "clock", "the server sent no Date header; skew unknown"))
    return results


def _metrics(paths: Paths, config_path: str, config) -> list[tuple[str, str, str]]:
    """The [agent] section, and where metrics would go (agent/metrics/; docs/agent.md)."""
    from agent import settings
    from agent.metrics import scripts, sender
    try:
        own = settings.load(config_path)
    except ConfigError as exc:
        return [(FAIL, "agent settings", str(exc))]
    if not own.metrics:
        return [(OK, "metrics", "off ([agent] metrics = on sends them for the server's alarms)")]
    target = sender.target_from(config.collectors, config.settings)
    if target is None:
        return [(FAIL, "metrics", "on, but no request (stoker's signed URL), watch or heat (keystone) "
                                  "collector to send them to")]
    directory = paths.resolve(own.metrics_dir)
    found = len(scripts.ScriptMetrics(directory).executables())
    return [(OK, "metrics", f"a sample every {own.metrics_interval:g}s, sent every {own.metrics_batch:g}s to "
             f"{target.shown}; {found} script(s) in {directory}")]


def _hooks(paths: Paths, env) -> list[tuple[str, str, str]]:
    results = []
    found = hooks.external(paths.hook_dirs)
    if found:
        results.append((OK, "hooks", "installed: " + ", ".join(f"{n} ({p})" for n, p in found.items())))
    usable, missing = [], []
    for name, hook in hooks.builtin().items():
        if name in found:
            continue
        if hook.tool is None or hooks.tool_path(hook, env):
            usable.append(name)
        else:
            missing.append(f"{name} (needs {hook.tool_command(env)})")
    results.append((OK, "built-in hooks", ", ".join(usable)))
    if missing:
        results.append((WARN, "missing tools", "; ".join(missing) + ": deployments of these groups fail "
                        "with status 127 until the tool is installed"))
    return results


def _state(paths: Paths) -> list[tuple[str, str, str]]:
    results = []
    try:
        os.makedirs(paths.state_dir, mode=0o700, exist_ok=True)
        probe = os.path.join(paths.state_dir, ".doctor-probe")
        with open(probe, "w") as f:
            f.write("x")
        os.unlink(probe)
        results.append((OK, "state", f"{paths.state_dir} is writable"))
    except OSError as exc:
        results.append((FAIL, "state", f"cannot write in {paths.state_dir}: {exc.strerror or exc}"))
    entries = Outbox(paths.outbox_dir, choose=lambda item: None).entries()
    if entries:
        oldest = min(e.get("queued_at", 0) for e in entries)
        last = next((e.get("last_error") for e in entries if e.get("last_error")), None)
        results.append((WARN, "signals", f"{len(entries)} result(s) waiting to be delivered since "
                        f"{time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(oldest))}"
                        + (f"; last error: {last}" if last else "")))
    rejected_dir = os.path.join(paths.outbox_dir, "rejected")
    rejected = [n for n in os.listdir(rejected_dir)] if os.path.isdir(rejected_dir) else []
    if rejected:
        results.append((WARN, "signals refused", f"{len(rejected)} result(s) the server refused, kept in "
                        f"{rejected_dir}"))
    running = [s.id for s in StateStore(paths.deployments_state_dir).all() if s.state == RUNNING]
    if running:
        results.append((WARN, "deployments", "running or interrupted: " + ", ".join(running)))
    return results
