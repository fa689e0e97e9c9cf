"""The openstack driver's Cinder calls, and volume attachments through Nova."""
from __future__ import annotations

from metadata_server.engine.drivers.base import CloudError
from metadata_server.engine.drivers.openstack_base import OpenStackBase, clean, server_ref


def _volume_attributes(volume) -> dict:
    return {"id": volume.id, "size": volume.size, "status": volume.status,
            "display_name": volume.name, "volume_type": volume.volume_type,
            "metadata": volume.metadata, "attachments": volume.attachments}


class VolumeCalls(OpenStackBase):
    def _create_volume(self, name, p):
        volume = self.conn.block_storage.create_volume(**clean({
            "name": name, "size": p.get("size"), "description": p.get("description"),
            "image_id": (self._find(self.conn.image.find_image, "image", p["image"])
                         if p.get("image") else None),
            "volume_type": p.get("volume_type"),
            "availability_zone": p.get("availability_zone"), "metadata": p.get("metadata"),
            "backup_id": p.get("backup_id")}))
        volume_id = volume.id
        volume = self._ready_or_deleted(lambda: self.conn.block_storage.get_volume(volume_id),
                                        "AVAILABLE", f"volume {volume_id}",
                                        lambda: self._delete_volume(volume_id))
        return volume.id, _volume_attributes(volume)

    def _update_volume(self, volume_id, p):
        storage = self.conn.block_storage
        refused = sorted(set(p) - {"name", "description", "size", "metadata"})
        if refused:
            raise CloudError(f"volume {volume_id}: changing {', '.join(refused)} in place is not "
                             "supported by the openstack driver")
        if p.get("size") is not None:
            current = storage.get_volume(volume_id)
            if p["size"] < current.size:
                raise CloudError(f"volume {volume_id}: size {p['size']} is smaller than its "
                                 f"{current.size} GB; Cinder only extends volumes")
            if p["size"] > current.size:
                # as Heat: extend, and wait for Cinder to finish it
                storage.extend_volume(volume_id, p["size"])
                self._wait(lambda: storage.get_volume(volume_id), "AVAILABLE",
                           f"volume {volume_id}")
        names = clean({"name": p.get("name"), "description": p.get("description")})
        if names:
            storage.update_volume(volume_id, **names)
        if "metadata" in p:
            # Cinder's PUT replaces the whole set, as a template's new metadata does
            storage.put(f"/volumes/{volume_id}/metadata",
                        json={"metadata": p["metadata"] or {}}).raise_for_status()
        return _volume_attributes(storage.get_volume(volume_id))

    def _delete_volume(self, volume_id):
        self.conn.block_storage.delete_volume(volume_id, ignore_missing=True)

    def backup_volume(self, volume_id, name):
        # force: Cinder backs up an attached (in-use) volume too, as Heat asks it to
        backup = self.conn.block_storage.create_backup(volume_id=volume_id, name=name,
                                                       force=True)
        backup_id = backup.id
        self._ready_or_deleted(lambda: self.conn.block_storage.get_backup(backup_id),
                               "AVAILABLE", f"backup {backup_id} of volume {volume_id}",
                               lambda: self.delete_backup(backup_id))
        return backup_id

    def delete_backup(self, backup_id):
        self.conn.block_storage.delete_backup(backup_id, ignore_missing=True)

    def _create_volume_attachment(self, name, p):
        attachment = self.conn.compute.create_volume_attachment(
            server_ref(p["instance_uuid"]), p["volume_id"],
            **clean({"device": p.get("mountpoint")}))
        volume_id = attachment.volume_id or p["volume_id"]
        self._ready_or_deleted(
            lambda: self.conn.block_storage.get_volume(volume_id), "IN-USE", f"volume {volume_id}",
            lambda: self.conn.compute.delete_volume_attachment(
                server_ref(p["instance_uuid"]), volume_id, ignore_missing=True),
            "detached")
        return f"{p['instance_uuid']}:{volume_id}", {"device": attachment.device}

    def _delete_volume_attachment(self, attachment_id):
        server_id, _, volume_id = attachment_id.partition(":")
        self.conn.compute.delete_volume_attachment(server_ref(server_id), volume_id,
                                                   ignore_missing=True)
        # the volume can be deleted, or attached elsewhere, once it is detached
        self._wait(lambda: self.conn.block_storage.get_volume(volume_id), "AVAILABLE",
                   f"volume {volume_id}")
