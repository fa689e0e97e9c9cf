"""The key that signs signal URLs, wait-condition URLs, metadata URLs and keystone-shim tokens.

It lives in the database, beside the server tokens' digests and the EC2 secrets that guard the
same documents, so every worker and every node of a PostgreSQL deployment signs with the same
key and sees a rotation at once. Rotation makes a new current key; the previous one is still
accepted until its grace period ends, so URLs already handed out (deployments in flight, a
wait-condition URL in a booting server's user_data) keep working meanwhile. URLs made after
the rotation are signed with the new key.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from metadata_server.service.clock import isotime
from metadata_server.service.credentials import SIGNING_SECRET, new_token
from metadata_server.service.store_protocol import ServiceStore

PREVIOUS = "signal-signing-key-previous"  # JSON: [{"key": ..., "until": ISO time}, ...]
DEFAULT_GRACE = timedelta(hours=24)


def current(store: ServiceStore) -> str:
    return store.secret(SIGNING_SECRET, new_token)


def accepted(store: ServiceStore, now: datetime) -> tuple[str, ...]:
    """The keys a signature may be made with at `now`: the current one first."""
    return (current(store), *(p["key"] for p in _previous(store) if _until(p) > now))


def fingerprint(key: str) -> str:
    """Names a key in logs and caches without revealing it."""
    return hashlib.sha256(("fingerprint\n" + key).encode()).hexdigest()[:12]


@dataclass(frozen=True)
class Rotation:
    new: str  # fingerprints
    previous: str
    accepted_until: datetime

    def summary(self) -> str:
        return (f"signing key rotated: new key {self.new}; the previous key {self.previous} is "
                f"accepted until {isotime(self.accepted_until)}")


def rotate(store: ServiceStore, now: datetime, grace: timedelta = DEFAULT_GRACE) -> Rotation:
    """Make a new current key; keep the current one accepted until `now + grace`. Keys whose
    grace period is over are forgotten; a grace of 0 (a leaked key) retires every old key."""
    old = current(store)
    until = now + max(grace, timedelta(0))
    kept = []
    if grace > timedelta(0):
        kept = [p for p in _previous(store) if _until(p) > now and p["key"] != old]
        kept.append({"key": old, "until": until.isoformat()})
    new = new_token()
    store.set_secrets({SIGNING_SECRET: new, PREVIOUS: json.dumps(kept)})
    return Rotation(fingerprint(new), fingerprint(old), until)


def _previous(store: ServiceStore) -> list[dict]:
    try:
        value = json.loads(store.secret(PREVIOUS, lambda: "[]"))
    except ValueError:
        return []
    return [p for p in value if isinstance(p, dict) and isinstance(p.get("key"), str)]


def _until(entry: dict) -> datetime:
    try:
        return datetime.fromisoformat(str(entry.get("until")))
    except ValueError:
        return datetime.min
