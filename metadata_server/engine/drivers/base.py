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

    def close(self) -> None:
        """Let go of what the driver holds (processes, sessions) when the engine closes."""
