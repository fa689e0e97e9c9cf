"""Why a deployment is where it is, in plain words (pure: deployment + server + now -> record).

`stoker deployment explain` and the dashboard's deployment page both tell it with this.

Inputs are the API's bodies: the deployment (`status`, `status_reason`, `creation_time`,
`updated_time`, and, when the server knows them, `phase`, `last_signal_time`, `timeout_time`) and
the server (`last_seen_time`), or None when the server id is not registered with stoker.
"""
from __future__ import annotations

from datetime import datetime, timezone


def parse_time(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def span(seconds: float) -> str:
    seconds = int(abs(seconds))
    if seconds < 90:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 120:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


def when(moment: datetime | None, now: datetime, never: str) -> str:
    if moment is None:
        return never
    delta = (now - moment).total_seconds()
    relative = f"{span(delta)} ago" if delta >= 0 else f"in {span(delta)}"
    return f"{moment.strftime('%Y-%m-%dT%H:%M:%SZ')} ({relative})"


def explain(deployment: dict, server: dict | None, now: datetime) -> dict:
    status = deployment.get("status") or "?"
    reason = deployment.get("status_reason") or ""
    created = parse_time(deployment.get("creation_time"))
    seen = parse_time((server or {}).get("last_seen_time"))
    signalled = parse_time(deployment.get("last_signal_time"))
    deadline = parse_time(deployment.get("timeout_time"))
    phase = deployment.get("phase")
    server_id = deployment.get("server_id")
    server_name = f"{server['name']} ({server_id})" if server and server.get("name") else server_id

    record = {
        "deployment": deployment.get("id"),
        "status": f"{deployment.get('action', '?')} {status}",
        "status_reason": reason,
        "server": server_name if server is not None else f"{server_id} (not registered with stoker)",
        "agent_last_seen": when(seen, now, "never") if server is not None else "unknown",
        # a phase is the agent's word on a running deployment; once settled it is stale
        "phase": (phase or "not reported") if status == "IN_PROGRESS" else "none (not running)",
        "last_signal": when(signalled, now, "none yet"),
        "timeout": _timeout_text(status, deadline, now),
    }
    record["explanation"] = " ".join(_story(deployment, status, reason, server, seen, created,
                                            signalled, deadline, phase, now))
    return record


def _timeout_text(status: str, deadline: datetime | None, now: datetime) -> str:
    if status != "IN_PROGRESS":
        return "not running"
    if deadline is None:
        return "not known"
    left = (deadline - now).total_seconds()
    if left >= 0:
        return f"{span(left)} left (until {deadline.strftime('%Y-%m-%dT%H:%M:%SZ')})"
    return f"passed {span(left)} ago"


def _story(deployment, status, reason, server, seen, created, signalled, deadline, phase, now):
    ident = deployment.get("id")
    if status == "COMPLETE":
        yield f"The deployment is done: {reason or 'COMPLETE'}."
        if signalled:
            yield f"The agent's signal arrived {span((now - signalled).total_seconds())} ago."
        yield f"See its outputs with `stoker software deployment output show {ident} --all`."
        return
    if status == "FAILED":
        yield f"The deployment failed: {reason or 'no reason given'}."
        stderr = ((deployment.get("output_values") or {}).get("deploy_stderr") or "").strip()
        if stderr:
            yield f"Last line of the hook's stderr: {stderr.splitlines()[-1]!r}."
        yield (f"Read the hook's output with `stoker software deployment output show {ident} "
               "deploy_stderr`; fix the config and create a new deployment.")
        return
    if status != "IN_PROGRESS":
        yield f"The deployment is {status}: {reason or 'no reason given'}; nothing is waiting on it."
        return
    if server is None:
        yield ("Its server is not registered with stoker, so stoker cannot tell whether an agent "
               "polls for it; register it (`stoker server register NAME`) or check the agent on "
               "that machine.")
    elif seen is None:
        yield ("The agent on its server has never fetched its metadata: it is not installed or "
               "not started, holds another server's credential, or cannot reach this server. "
               "On the server check `journalctl -u stoker-agent` and /etc/os-collect-config.conf.")
    elif created is not None and seen < created:
        yield (f"The agent was last seen {span((now - seen).total_seconds())} ago, before this "
               "deployment was created, so it has not fetched it yet: the agent is stopped or "
               "cannot reach this server (check `systemctl status stoker-agent` there).")
    elif phase:
        when = f" (reported {span((now - signalled).total_seconds())} ago)" if signalled else ""
        yield f"The agent has the deployment and is in phase {phase!r}{when}."
    else:
        yield (f"The agent fetched its metadata after this deployment was created (last seen "
               f"{span((now - seen).total_seconds())} ago) and has not signalled a result yet: "
               "the hook is most likely still running.")
    if deadline is not None:
        left = (deadline - now).total_seconds()
        if left >= 0:
            yield f"Without a signal it will be marked FAILED in {span(left)}."
        else:
            yield (f"Its timeout passed {span(left)} ago; the server marks it FAILED at its next "
                   "timeout sweep.")
