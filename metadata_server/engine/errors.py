"""Errors the engine raises. They are service errors, so the API renders Heat's error body."""
from __future__ import annotations

from metadata_server.service.errors import Conflict, InvalidInput, NotFound, ServiceError


class StackValidationFailed(InvalidInput):
    """A template, environment or property is wrong; the message carries the path."""

    def __init__(self, message: str, path: str | None = None):
        text = f"{path}: {message}" if path else message
        super().__init__(text, "StackValidationFailed")
        self.path = path


class RequestLimitExceeded(InvalidInput):
    """A template or request goes over one of the server's limits (engine/limits.py)."""

    def __init__(self, message: str):
        super().__init__(message, "RequestLimitExceeded")


class CircularDependency(InvalidInput):
    def __init__(self, cycle: list[str]):
        super().__init__("Circular Dependency Found: " + " -> ".join(cycle),
                         "CircularDependencyException")
        self.cycle = cycle


class StackNotFound(NotFound):
    def __init__(self, name: str):
        super().__init__(f"The Stack ({name}) could not be found.", "EntityNotFound")


class StackExists(Conflict):
    def __init__(self, name: str):
        super().__init__(f"The Stack ({name}) already exists.", "StackExists")


class ActionInProgress(Conflict):
    def __init__(self, name: str, action: str):
        super().__init__(f"Stack {name} already has an action ({action}) in progress.",
                         "ActionInProgress")


class ResourceFailure(ServiceError):
    """A resource's action failed; `reason` is Heat's "<Type>: resources.<name>: <message>"."""

    def __init__(self, resource: str, exc: BaseException, action: str = "CREATE"):
        inner = exc.message if isinstance(exc, ServiceError) else str(exc)
        kind = getattr(exc, "error_type", None) or type(exc).__name__
        self.reason = f"{kind}: resources.{resource}: {inner}"
        super().__init__(self.reason, "ResourceFailure")
        self.resource, self.action = resource, action


class UpdateReplace(Exception):
    """Raised by a resource's update handler: this change needs a new physical resource."""


class Cancelled(Exception):
    """The operation was cancelled or timed out while this resource was working."""


class ChildStackFailed(Exception):
    """A nested stack's operation failed: its parent resource fails with this reason."""
    error_type = "Error"
