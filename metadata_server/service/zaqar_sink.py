"""Where and how a zaqar-queue sink's events are posted: Zaqar's v2 messages API
(`POST <zaqar>/v2/queues/<queue>/messages`), at the URL the operator gave, or the `messaging`
endpoint of the cloud the openstack driver uses, with that cloud's token.

Each request carries a Client-ID (a UUID per process, as Zaqar requires) and X-Project-Id, the
stack's tenant: a Zaqar without Keystone files the queue under it; behind Keystone the token's
project wins (Keystone's middleware replaces the header), so the queue is the cloud account's.
"""
from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import quote

from metadata_server.store.event_sinks_spec import body_bytes, zaqar_messages

CLOUD = "cloud"   # --zaqar-url cloud: the openstack driver's cloud, its catalog and its token


class ZaqarUnavailable(Exception):
    """The endpoint or a token cannot be had now (the cloud's Keystone is away): retry later."""


class ZaqarQueues:
    def __init__(self, url: str, session: Any = None):
        """`url`: Zaqar's endpoint, or CLOUD; `session`: a keystoneauth session (the cloud
        connection's) whose token every request carries, or None for a Zaqar without auth."""
        if url == CLOUD and session is None:
            raise ValueError("--zaqar-url cloud needs --cloud-driver openstack (its cloud's "
                             "catalog names Zaqar)")
        self.url, self.session = url, session
        self.client_id = str(uuid.uuid4())

    def _endpoint(self) -> str:
        if self.url != CLOUD:
            return self.url.rstrip("/")
        try:
            found = self.session.get_endpoint(service_type="messaging", interface="public")
        except Exception as exc:  # noqa: BLE001 - keystoneauth's errors: Keystone away
            raise ZaqarUnavailable(f"the cloud's catalog: {type(exc).__name__}") from None
        if not found:
            raise LookupError("the cloud's catalog has no messaging (Zaqar) endpoint")
        return found.rstrip("/")

    def _auth(self) -> dict:
        if self.session is None:
            return {}
        try:
            return dict(self.session.get_auth_headers() or {})
        except Exception as exc:  # noqa: BLE001 - keystoneauth's errors: Keystone away
            raise ZaqarUnavailable(f"a token from the cloud: {type(exc).__name__}") from None

    def request(self, sink: dict, row: dict) -> tuple[str, dict, bytes]:
        """(url, headers, body) of the post of one outbox row to its sink's queue."""
        base = self._endpoint()
        if not base.endswith("/v2"):
            base += "/v2"
        url = f"{base}/queues/{quote(sink['target'], safe='')}/messages"
        headers = {"Content-Type": "application/json", "Client-ID": self.client_id,
                   "X-Project-Id": row["tenant"], "User-Agent": "stoker-event-sink",
                   **self._auth()}
        return url, headers, body_bytes(zaqar_messages(row["body"], sink.get("ttl")))


def cloud_session(cloud: str | None) -> Any:
    """The keystoneauth session of the clouds.yaml entry the openstack driver uses."""
    import openstack  # the `openstack` extra, as for the driver itself
    return openstack.connect(cloud=cloud).session
