"""Cloud drivers, registered by name: `local` (embedded default), `openstack`, `fake` (tests)."""
from __future__ import annotations

from metadata_server.engine.drivers.base import CloudDriver, CloudError
from metadata_server.engine.drivers.fake import FakeDriver
from metadata_server.engine.drivers.local import LocalDriver
from metadata_server.engine.drivers.openstack import OpenStackDriver

DRIVERS = {"local": LocalDriver, "openstack": OpenStackDriver, "fake": FakeDriver}


def make_driver(name: str, **options) -> CloudDriver:
    try:
        factory = DRIVERS[name]
    except KeyError:
        raise ValueError(f"unknown cloud driver {name!r}; known: {', '.join(sorted(DRIVERS))}") from None
    return factory(**options)


__all__ = ["CloudDriver", "CloudError", "DRIVERS", "FakeDriver", "LocalDriver",
           "OpenStackDriver", "make_driver"]
