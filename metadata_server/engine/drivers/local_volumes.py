"""The local driver's volume attachments, with Cinder's state: a volume is `in-use` while an
attachment holds it and `available` again once it is detached; attaching an attached volume
(not multiattach), a volume or server the local cloud has no record of, or deleting a volume
still in use is refused with Cinder's and Nova's words.

Everything here works on the records dict of local.py under its file lock.
"""
from __future__ import annotations

from metadata_server.engine.drivers.base import CloudError

Records = dict[str, dict]


def _volume(records: Records, volume_id: str | None) -> dict:
    record = records.get(volume_id or "")
    if record is None or record.get("kind") != "volume":
        raise CloudError(f"Volume {volume_id} could not be found.")
    return record["attributes"]


def attach(records: Records, attachment_id: str, properties: dict) -> dict:
    """Attach; the attachment's attributes (device, server_id, volume_id)."""
    volume = _volume(records, properties.get("volume_id"))
    server_id = properties.get("instance_uuid")
    server = records.get(server_id or "")
    if server is None or server.get("kind") != "server":
        raise CloudError(f"Instance {server_id} could not be found.")
    attached = volume.get("attachments") or []
    if attached and not volume.get("multiattach"):
        raise CloudError(f"Invalid volume: volume {volume['id']} status must be available to "
                         f"attach; it is in-use (attached to {attached[0]['server_id']})")
    device = properties.get("mountpoint") or f"/dev/vd{chr(ord('b') + len(_devices(records, server_id)))}"
    if device in _devices(records, server_id):
        raise CloudError(f"The supplied device path ({device}) is in use.")
    volume["attachments"] = attached + [{"id": attachment_id, "server_id": server_id,
                                         "volume_id": volume["id"], "device": device}]
    volume["status"] = "in-use"
    return {"device": device, "server_id": server_id, "volume_id": volume["id"]}


def _devices(records: Records, server_id: str) -> list[str]:
    return [a["device"] for r in records.values() if r.get("kind") == "volume"
            for a in r["attributes"].get("attachments") or [] if a["server_id"] == server_id]


def detach(records: Records, attachment_id: str) -> None:
    for record in records.values():
        if record.get("kind") != "volume":
            continue
        volume = record["attributes"]
        kept = [a for a in volume.get("attachments") or [] if a["id"] != attachment_id]
        if len(kept) != len(volume.get("attachments") or []):
            volume["attachments"] = kept
            volume["status"] = "in-use" if kept else "available"


def remove(records: Records, kind: str, ident: str) -> None:
    """What a delete does to volumes: an attachment detaches, a server's volumes are detached
    with it (as Nova does), and a volume in use is refused."""
    if kind == "volume_attachment":
        detach(records, ident)
    elif kind == "server":
        for attachment in [a["id"] for r in records.values() if r.get("kind") == "volume"
                           for a in r["attributes"].get("attachments") or []
                           if a["server_id"] == ident]:
            detach(records, attachment)
    elif kind == "volume":
        volume = records.get(ident, {}).get("attributes") or {}
        if volume.get("attachments"):
            raise CloudError(f"Invalid volume: volume {ident} status must be available or "
                             "error to delete; it is in-use")


def update(records: Records, attachment_id: str, properties: dict) -> dict:
    """A changed attachment is detached and attached again (Heat replaces Nova's attachment)."""
    current = records.get(attachment_id, {}).get("attributes") or {}
    detach(records, attachment_id)
    wanted = {k: current.get(k) for k in ("instance_uuid", "volume_id", "mountpoint")}
    wanted.update({k: v for k, v in properties.items() if k in wanted})
    return {**wanted, **attach(records, attachment_id, wanted)}
