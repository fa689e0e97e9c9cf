"""What the openstack driver's calls share: the connection, bounded waits on the cloud, and
names turned into ids as Heat resolves them (by id first, then by name)."""
from __future__ import annotations

import time
from typing import Any, Callable

from metadata_server.engine.drivers.base import CloudError


def not_found(exc: Exception) -> bool:
    return type(exc).__name__ in ("NotFoundException", "ResourceNotFound")


def server_ref(server_id: str) -> Any:
    """A server known by id: the sdk otherwise looks the id up to tell a server from a volume."""
    from openstack.compute.v2.server import Server
    return Server(id=server_id)


def clean(values: dict) -> dict:
    return {k: v for k, v in values.items() if v is not None}


class OpenStackBase:
    def __init__(self, connection: Any = None, *, cloud: str | None = None,
                 wait_timeout: float = 600.0, poll_interval: float = 2.0,
                 sleep: Callable[[float], None] = time.sleep):
        if connection is None:
            import openstack  # the `openstack` extra; only this driver needs it
            connection = openstack.connect(cloud=cloud)
        self.conn = connection
        self.wait_timeout, self.poll_interval, self._sleep = wait_timeout, poll_interval, sleep

    # -- waits -------------------------------------------------------------------------------
    def _wait(self, read: Callable[[], Any], done: str, what: str) -> Any:
        deadline = time.monotonic() + self.wait_timeout
        while True:
            current = read()
            status = (current.status or "").upper()
            if status == done:
                return current
            if status.startswith("ERROR"):   # ERROR, ERROR_ATTACHING, ERROR_RESTORING ...
                fault = getattr(current, "fault", None) or {}
                detail = fault.get("message") if isinstance(fault, dict) else fault
                raise CloudError(f"{what} went to {status}" + (f": {detail}" if detail else ""))
            if time.monotonic() > deadline:
                raise CloudError(f"{what} still {status} after {self.wait_timeout:.0f} s")
            self._sleep(self.poll_interval)

    def _ready_or_deleted(self, read: Callable[[], Any], done: str, what: str,
                          delete: Callable[[], None], undone: str = "deleted") -> Any:
        """Wait for `done`; what never gets there is deleted before the error is raised, so a
        failed create leaves nothing in the cloud (the resource has no id to delete it by)."""
        try:
            return self._wait(read, done, what)
        except Exception as exc:  # noqa: BLE001 - whatever stopped the wait, undo the create
            try:
                delete()
            except Exception as cleanup:  # the first error is what the user must see
                raise CloudError(f"{exc}; deleting it failed too: {cleanup}") from None
            raise CloudError(f"{exc} ({undone})") from None

    def _wait_gone(self, read: Callable[[], Any], what: str) -> None:
        """Until the cloud answers 404: what depends on it (ports, volumes) can go after."""
        deadline = time.monotonic() + self.wait_timeout
        while True:
            try:
                current = read()
            except Exception as exc:
                if not_found(exc):
                    return
                raise
            status = (current.status or "").upper()
            # a server in ERROR is deleted like any other; a volume may fail to be
            if status == "ERROR_DELETING":
                raise CloudError(f"{what} went to {status} while deleting")
            if time.monotonic() > deadline:
                raise CloudError(f"{what} still {status} after {self.wait_timeout:.0f} s")
            self._sleep(self.poll_interval)

    # -- names to ids ------------------------------------------------------------------------
    @staticmethod
    def _find(finder: Callable[..., Any], kind: str, name_or_id: str) -> str:
        try:
            return finder(name_or_id, ignore_missing=False).id
        except Exception as exc:
            if not_found(exc):
                raise CloudError(f"{kind} {name_or_id!r} was not found (looked up by id, "
                                 "then name)") from None
            raise

    def _network_id(self, name_or_id: str) -> str:
        return self._find(self.conn.network.find_network, "network", name_or_id)

    def _subnet_id(self, name_or_id: str) -> str:
        return self._find(self.conn.network.find_subnet, "subnet", name_or_id)

    def _security_groups(self, names_or_ids: list[str] | None) -> list[str]:
        return [self._find(self.conn.network.find_security_group, "security group", g)
                for g in names_or_ids or []]

    def _fixed_ips(self, entries: list[dict] | None) -> list[dict] | None:
        """Heat's {subnet (or subnet_id), ip_address} as Neutron's {subnet_id, ip_address}."""
        if entries is None:
            return None
        fixed = []
        for entry in entries:
            subnet = entry.get("subnet") or entry.get("subnet_id")
            fixed.append(clean({"subnet_id": self._subnet_id(subnet) if subnet else None,
                                "ip_address": entry.get("ip_address")}))
        return fixed

    def _gateway(self, info: dict | None) -> dict | None:
        """Heat's {network, enable_snat, external_fixed_ips} as Neutron's gateway info."""
        if not info:
            return None
        return clean({"network_id": self._network_id(info.get("network")
                                                     or info.get("network_id")),
                      "enable_snat": info.get("enable_snat"),
                      "external_fixed_ips": self._fixed_ips(info.get("external_fixed_ips"))})
