"""What an event sink is, what it is sent and how it is signed: no I/O here, so the engine's
environment check, the outbox (event_outbox.py) and the delivery worker (service/event_sinks.py)
share one definition; it sits at the bottom layer, which all three may import.

Sinks: Heat's `{type: zaqar-queue, target: <queue>, ttl: <s>}` and stoker's
`{type: webhook, target: <http(s) URL>, secret: <text>}`. The server-wide webhook
(`--event-webhook`) is the sink `{type: server}`, resolved by each process from its own options,
so its URL and secret never sit in the database.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import re
from typing import NamedTuple
from urllib.parse import urlsplit

import yaml


WEBHOOK, ZAQAR, SERVER = "webhook", "zaqar-queue", "server"
MAX_SINKS_PER_STACK = 10
MAX_TARGET_CHARS = 2048
MAX_SECRET_CHARS = 256
SIGNATURE_HEADER = "X-Stoker-Signature"
TIMESTAMP_HEADER = "X-Stoker-Timestamp"
EVENT_ID_HEADER = "X-Stoker-Event-Id"
ZAQAR_DEFAULT_TTL = 3600     # Heat's, for a zaqar-queue sink without ttl
SECRET_MASK = "******"      # what Heat shows for a hidden value
# Zaqar's own rule for queue names (it refuses others); also keeps the name a plain URL segment
QUEUE_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")


def sink_problem(sink) -> str | None:
    """Why `sink` (one entry of an environment's event_sinks) is not a sink, or None."""
    if not isinstance(sink, dict):
        return "an event sink must be a map"
    kind, target = sink.get("type"), sink.get("target")
    if kind == ZAQAR:
        if not isinstance(target, str) or not target:
            return "a zaqar-queue event sink needs target: <queue name>"
        if not QUEUE_NAME.fullmatch(target):
            return f"a zaqar-queue event sink's target must be a Zaqar queue name (1 to 64 " \
                   f"letters, digits, '_' or '-'), not {target[:80]!r}"
        ttl = sink.get("ttl")
        if ttl is not None and (not isinstance(ttl, int) or isinstance(ttl, bool) or ttl < 1):
            return "an event sink's ttl must be a whole number of seconds"
        unknown = set(sink) - {"type", "target", "ttl"}
        if unknown:
            return f"a zaqar-queue event sink has unknown keys: {', '.join(sorted(unknown))}"
        return None
    if kind == WEBHOOK:
        if not isinstance(target, str) or len(target) > MAX_TARGET_CHARS:
            return f"a webhook event sink needs target: <http(s) URL of at most " \
                   f"{MAX_TARGET_CHARS} characters>"
        parts = urlsplit(target)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            return f"a webhook event sink's target must be an http(s) URL, not {target!r}"
        secret = sink.get("secret")
        if secret is not None and (not isinstance(secret, str) or not secret
                                   or len(secret) > MAX_SECRET_CHARS):
            return f"a webhook event sink's secret must be text of 1 to {MAX_SECRET_CHARS} " \
                   "characters"
        unknown = set(sink) - {"type", "target", "secret"}
        if unknown:
            return f"a webhook event sink has unknown keys: {', '.join(sorted(unknown))}"
        return None
    return "an event sink must be {type: zaqar-queue, target: <queue>[, ttl: <seconds>]} or " \
           "{type: webhook, target: <http(s) URL>[, secret: <text>]}"


class EventSource(NamedTuple):
    """What the outbox needs of the stack an event belongs to. A writer that knows it (the
    engine: it bound the stack) hands it over with the events, so recording them reads nothing
    more; the outbox looks up only the stacks it is not told about."""
    tenant: str
    name: str
    sinks: tuple


def event_source(tenant: str, name: str, sinks) -> EventSource:
    """A stack as a writer that bound it knows it (its sinks checked), for the outbox."""
    return EventSource(tenant, name, tuple(s for s in sinks or () if sink_problem(s) is None))


def masked_sinks(sinks) -> list:
    """An environment's event_sinks as shown to anyone: each webhook's secret masked (only the
    delivery worker, through the outbox rows, ever reads the real one)."""
    if not isinstance(sinks, list):
        return sinks
    return [dict(s, secret=SECRET_MASK) if isinstance(s, dict) and "secret" in s else s
            for s in sinks]


def masked_environment(environment):
    """An environment (a map, or its YAML/JSON text as a request may give it) with its sinks'
    secrets masked; text holding a secret comes back as a masked map (text cannot be masked
    in place), any other value as it was."""
    data = environment
    if isinstance(environment, str):
        if "secret" not in environment:
            return environment
        try:
            data = yaml.safe_load(environment)
        except yaml.YAMLError:
            return environment   # refused when bound: never a stored stack's environment
    if not isinstance(data, dict) or not isinstance(data.get("event_sinks"), list) \
            or not any(isinstance(s, dict) and "secret" in s for s in data["event_sinks"]):
        return environment
    return dict(data, event_sinks=masked_sinks(data["event_sinks"]))


def masked_files(files, environment_files) -> dict:
    """A stack's files with the environment files among them masked as above (the client sends
    each environment as a file and names it in environment_files)."""
    if not isinstance(files, dict) or not environment_files:
        return files
    shown = dict(files)
    for name in environment_files:
        if isinstance(name, str) and name in shown:
            text, masked = shown[name], masked_environment(shown[name])
            if masked is not text:
                shown[name] = json.dumps(masked, default=str) if isinstance(text, str) else masked
    return shown


def masked_stack_data(data):
    """Heat's stack data (export, a snapshot's data) as shown: its environment, and any of its
    files that is an environment, masked as above (the data names no environment_files)."""
    if not isinstance(data, dict):
        return data
    files = data.get("files")
    return dict(data, environment=masked_environment(data.get("environment") or {}),
                files=masked_files(files, list(files)) if isinstance(files, dict) else files)


def sink_key(sink: dict) -> str:
    """What one sink's deliveries share a concurrency bound by (never its secret)."""
    if sink.get("type") == SERVER:
        return SERVER
    return f"{sink.get('type')}:{sink.get('target')}"[:MAX_TARGET_CHARS + 32]


def payload(event: dict, stack_name: str, tenant: str) -> dict:
    """The body of one delivery: the event as Heat's API shows it, and its stack."""
    return {
        "type": "os.heat.event", "version": "0.1",
        "id": event["id"], "event_time": event["created_at"].strftime("%Y-%m-%dT%H:%M:%SZ"),
        "resource_name": event["resource_name"],
        "logical_resource_id": event["resource_name"],
        "physical_resource_id": event.get("physical_resource_id") or "",
        "resource_type": event.get("resource_type"),
        "resource_action": event["action"],
        "resource_status": f"{event['action']}_{event['status']}",
        "resource_status_reason": event.get("status_reason") or "",
        "stack_id": event["stack_id"], "stack_name": stack_name, "project_id": tenant,
    }


def zaqar_messages(body: dict, ttl: int | None) -> dict:
    """What Heat posts to a zaqar-queue sink for one event (its Event.as_dict as a message's
    body), made from the delivery body above: Zaqar's v2 `{"messages": [...]}`."""
    action, status = body["resource_action"], body["resource_status"]
    if status.startswith(action + "_"):
        status = status[len(action) + 1:]   # Heat's event document has the status alone
    event = {"timestamp": body["event_time"].rstrip("Z"), "version": "0.1",
             "type": "os.heat.event", "id": body["id"],
             "payload": {"resource_name": body["resource_name"],
                         "physical_resource_id": body["physical_resource_id"],
                         "stack_id": body["stack_id"], "resource_action": action,
                         "resource_status": status,
                         "resource_status_reason": body["resource_status_reason"],
                         "resource_type": body["resource_type"],
                         "resource_properties": {}, "version": "0.1"}}
    return {"messages": [{"ttl": ttl or ZAQAR_DEFAULT_TTL, "body": event}]}


def body_bytes(body: dict) -> bytes:
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """HMAC-SHA256 over "<timestamp>." followed by the body, as the header carries it."""
    mac = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(secret: str, headers, body: bytes, now: float, tolerance: float = 300) -> bool:
    """What a receiver does: the signature matches and the timestamp is recent (no replays
    of an old delivery; a receiver also drops event ids it has seen)."""
    stamp = headers.get(TIMESTAMP_HEADER, "")
    if not stamp.isdigit() or abs(now - int(stamp)) > tolerance:
        return False
    return hmac.compare_digest(signature(secret, int(stamp), body),
                               headers.get(SIGNATURE_HEADER, ""))
