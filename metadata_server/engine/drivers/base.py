"""The CloudDriver seam: how the engine makes servers, networks and volumes somewhere.

One interface for every kind of object; a driver answers with a physical id and the object's
attributes (what get_attr reads). Drivers are registered by name in drivers/__init__.py.
"""
from __future__ import annotations

from typing import Any, Protocol

KINDS = ("server", "keypair", "net", "subnet", "port", "router", "router_interface",
         "security_group", "floating_ip", "floating_ip_association", "volume",
         "volume_attachment")


class CloudError(Exception):
    """The cloud refused or failed; the message is the cloud's, for the resource's reason."""


class Unsupported(CloudError):
    """The driver cannot provide this at all (not a failure of the cloud); the resource's
    failure reason names the resource and the driver."""


class CloudDriver(Protocol):
    name: str
    # whether servers boot the user_data (stoker's agent install); drivers whose servers are
    # not images say False and get the user's user_data alone (metadata_server/boot)
    boots_user_data: bool

    def create(self, kind: str, name: str, properties: dict, *,
               physical_id: str | None = None) -> tuple[str, dict[str, Any]]:
        """Create an object; return its id and attributes. `physical_id` is a wish the
        driver honours when it can (a server's id must match the stoker server's)."""

    def update(self, kind: str, physical_id: str, properties: dict) -> dict[str, Any]:
        """Apply in-place changes; return the new attributes."""

    def delete(self, kind: str, physical_id: str) -> None:
        """Delete; an object already gone is not an error."""

    def show(self, kind: str, physical_id: str) -> dict[str, Any] | None:
        """The object's attributes, or None when it does not exist."""

    # -- with defaults: a driver that inherits the protocol may leave them out ----------------
    def server_addresses(self, physical_id: str) -> dict[str, Any] | None:
        """A server's addresses, networks and first_address as they are now (a floating IP
        associated after create shows), or None: the attributes kept at create stand."""
        return None

    def external_network(self) -> str:
        """The network floating IPs come from when a template names none (AWS::EC2::EIP), as
        Heat finds it: the one external network."""
        raise Unsupported(f"the {self.name} cloud driver cannot allocate an address without "
                          "a network to take it from")

    def server_port(self, server_id: str) -> str:
        """The id of a server's first port (an address is associated with it)."""
        raise Unsupported(f"the {self.name} cloud driver cannot tell a server's ports")

    def find_floating_ip(self, address: str) -> str | None:
        """The id of the floating IP with this address, or None."""
        raise Unsupported(f"the {self.name} cloud driver cannot look up a floating IP by "
                          "its address")

    def backup_volume(self, volume_id: str, name: str) -> str | None:
        """Back a volume's contents up (a stack snapshot, DeletionPolicy Snapshot) and wait
        until the backup is whole; its id, or None where the driver keeps no contents (a
        restore then makes the volume anew, as its properties say)."""
        return None

    def delete_backup(self, backup_id: str) -> None:
        """Delete a backup backup_volume made; one already gone is not an error."""

    def close(self) -> None:
        """Let go of what the driver holds (processes, sessions) when the engine closes."""
