"""A volume's contents in stack snapshots (Heat's OS::Cinder::Volume handle_snapshot): the
snapshot keeps a backup of the volume (`backup_id`, where the driver keeps contents), deleting
the snapshot deletes the backup, and a restore makes the volume anew from it."""
from __future__ import annotations

from metadata_server.engine.drivers.base import CloudError


class VolumeBackups:
    """Mixed into the volume types; `spec()` is what a new volume of this resource needs."""

    def handle_snapshot(self, token) -> dict:
        if not self.physical_id:
            return {}
        backup_id = self.ctx.driver.backup_volume(self.physical_id, self.physical_name())
        return {"backup_id": backup_id} if backup_id else {}

    def handle_snapshot_delete(self, token) -> None:
        # Heat's: the backup outlives the stack (the tenant restores from it by hand)
        self.handle_snapshot(token)
        self.handle_delete(token)

    def handle_delete_snapshot(self, resource_data: dict) -> None:
        if resource_data.get("backup_id"):
            self.ctx.driver.delete_backup(resource_data["backup_id"])

    def handle_restore(self, resource_data: dict) -> None:
        super().handle_restore(resource_data)
        backup_id = resource_data.get("backup_id")
        if not backup_id or not self.physical_id:
            return
        driver, old = self.ctx.driver, self.physical_id
        shown = driver.show("volume", old) or {}
        if shown.get("attachments"):
            # Heat replaces the volume in the restore's update, attachments with it; stoker
            # puts contents back after the update, so an attached volume cannot be swapped
            raise CloudError(f"volume {old} is attached: detach it (remove its attachment "
                             "from the template) to restore its contents from backup "
                             f"{backup_id}")
        new, attributes = driver.create("volume", self.physical_name(),
                                        {**self.spec(), "backup_id": backup_id})
        self.physical_id = new
        if "attributes" in self.data:
            self.data["attributes"] = attributes
        driver.delete("volume", old)
