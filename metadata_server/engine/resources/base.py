"""The resource plugin contract: a properties schema, attributes, and create/update/delete.

A plugin instance is made for one action on one resource. It reads and sets `physical_id` and
`data` (what it keeps between actions); the engine stores both after the action. Long waits go
through `token.wait(...)`, so a cancel or the stack timeout stops them.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from metadata_server.engine.errors import StackValidationFailed

if TYPE_CHECKING:  # pragma: no cover
    from metadata_server.engine.context import PluginContext
    from metadata_server.engine.walker import CancelToken

_TYPES = {"string": (str,), "integer": (int,), "number": (int, float), "boolean": (bool,),
          "list": (list,), "map": (dict,), "any": (object,)}


@dataclass(frozen=True)
class Prop:
    type: str = "string"
    required: bool = False
    default: Any = None
    update_allowed: bool = False
    allowed: tuple = ()
    immutable: bool = False
    description: str = ""   # shown by GET /resource_types/{type}
    range: tuple | None = None   # (min, max) of a number, either may be None


def _coerce(value: Any, prop: Prop, path: str) -> Any:
    kind = prop.type
    if value is None:
        return None
    if kind in ("integer", "number") and isinstance(value, str):
        try:
            value = int(value) if kind == "integer" else float(value)
        except ValueError:
            raise StackValidationFailed(f"Value '{value}' is not an {kind}", path) from None
    if kind == "boolean" and isinstance(value, str) and value.lower() in ("true", "false"):
        value = value.lower() == "true"
    if kind == "string" and isinstance(value, (int, float)) and not isinstance(value, bool):
        value = str(value)
    if kind == "list" and isinstance(value, str):
        value = [item for item in value.split(",")] if value else []
    if not isinstance(value, _TYPES[kind]) or (kind in ("integer", "number")
                                               and isinstance(value, bool)):
        raise StackValidationFailed(f"Value {value!r} is not a {kind}", path)
    if prop.range is not None:
        low, high = prop.range
        if (low is not None and value < low) or (high is not None and value > high):
            bounds = ", ".join(f"{k}: {v}" for k, v in (("min", low), ("max", high))
                               if v is not None)
            raise StackValidationFailed(f"{value} is out of range ({bounds})", path)
    if prop.allowed and value not in prop.allowed:
        raise StackValidationFailed(
            f"{value!r} is not an allowed value {list(prop.allowed)}", path)
    return value


def select_path(value: Any, path: tuple) -> Any:
    """get_attr's path into an attribute value: map keys and list indexes; None where the path
    leads nowhere."""
    for key in path:
        if isinstance(value, dict):
            value = value.get(key)
        elif isinstance(value, list):
            try:
                value = value[int(key)]
            except (ValueError, IndexError, TypeError):
                return None
        else:
            return None
    return value


@dataclass(frozen=True)
class Forward:
    """What handle_signal returns to hand a signal on to another resource of the stack (a
    scaling policy to its group): `check(target_plugin)` runs before the signal is answered,
    `call(target_plugin)` after, on the engine's signal pool, and gives the target's event reason;
    `reason` is the signalled resource's own event reason."""
    target: str                  # the target's name or physical id
    call: Any
    reason: str
    check: Any = lambda target: None  # raises at once if the target cannot take it
    # the target's event reason when the engine's signal queue refuses the call
    refusal: Any = lambda why: f"Signal refused: {why}"



class Resource:
    type_name = ""
    properties_schema: dict[str, Prop] = {}
    # attribute names the type offers; None: any name (deployment outputs, nested outputs)
    attributes_schema: tuple[str, ...] | None = ()
    # a type whose physical object is worth nothing without the others (ResourceGroup members
    # are nested stacks): the engine never needs to know; kept for documentation
    description = ""
    accepts_any_properties = False  # OS::Heat::None takes whatever it is given
    # attribute -> the property whose value it is (OS::Heat::Value's `value`): known before
    # the run, so an update plan sees a dependant change when this resource changes in place
    attributes_from_properties: dict[str, str] = {}
    # adopt (engine/adopt.py): whether a resource of this type can take over an existing
    # physical resource from Heat's abandon data; types backed by a nested stack cannot yet
    adoptable = True
    # restore (engine/snapshots.py): the keys of `data` a snapshot's resource_data puts back
    # (a RandomString's value, a wait condition's signals)
    restore_keys: tuple[str, ...] = ()

    def __init__(self, name: str, ctx: "PluginContext", properties: dict,
                 physical_id: str | None = None, data: dict | None = None,
                 definition: Any = None):
        self.name = name
        self.ctx = ctx
        self.properties = properties
        self.physical_id = physical_id
        self.data = dict(data or {})
        self.definition = definition  # the template's ResourceDefinition, when there is one

    # -- schema ------------------------------------------------------------------------------
    @classmethod
    def validate_properties(cls, name: str, raw: Any) -> dict:
        """Defaults applied, types coerced, unknown and missing names rejected with a path."""
        raw = {} if raw is None else raw
        base = f"resources.{name}.properties"
        if not isinstance(raw, dict):
            raise StackValidationFailed(f"properties must be a map, got {type(raw).__name__}", base)
        if cls.accepts_any_properties:
            return dict(raw)
        result = {}
        for key in raw:
            if key not in cls.properties_schema:
                raise StackValidationFailed(f"Unknown Property {key}", f"{base}.{key}")
        for key, prop in cls.properties_schema.items():
            value = raw.get(key)
            if value is None:
                if prop.required:
                    raise StackValidationFailed(f"Property {key} not assigned", f"{base}.{key}")
                value = prop.default
            result[key] = _coerce(value, prop, f"{base}.{key}")
        cls.check(name, result)
        return result

    @classmethod
    def check(cls, name: str, properties: dict) -> None:
        """Cross-property rules of a type; raise StackValidationFailed."""

    @classmethod
    def replace_on(cls, changed: set[str]) -> bool:
        """Whether changing these properties needs a new physical resource (Heat's rule)."""
        if cls.accepts_any_properties:
            return False
        return any(not cls.properties_schema[k].update_allowed
                   for k in changed if k in cls.properties_schema)

    # -- lifecycle ---------------------------------------------------------------------------
    def handle_create(self, token: "CancelToken") -> None:
        """Create the physical resource; set self.physical_id and self.data."""

    def handle_update(self, new_properties: dict, changed: set[str], token: "CancelToken") -> None:
        """Apply update_allowed changes in place; raise UpdateReplace to be replaced instead."""
        self.properties = new_properties

    def handle_delete(self, token: "CancelToken") -> None:
        """Delete the physical resource; a missing one is already deleted."""

    def handle_suspend(self, token: "CancelToken") -> None:
        """Suspend the physical resource (most types have nothing to do)."""

    def handle_resume(self, token: "CancelToken") -> None:
        """Resume the physical resource."""

    def handle_adopt(self, token: "CancelToken") -> None:
        """Take over the physical resource named by physical_id, with the abandoned data in
        self.data; raise when it is not there (or not the tenant's) to fail the adopt."""

    def export_data(self) -> dict:
        """Heat's resource_data in abandon, export and snapshot bodies: what the resource
        keeps, plus what a restore needs that lives elsewhere (a deployment's outputs)."""
        return dict(self.data)

    def handle_snapshot(self, token: "CancelToken") -> dict:
        """A stack snapshot is being taken: what it keeps of this resource beyond its data
        (a volume's backup_id), merged into the snapshot's resource_data only."""
        return {}

    def handle_snapshot_delete(self, token: "CancelToken") -> None:
        """Delete under `DeletionPolicy: Snapshot`: a volume is backed up first; a type
        with nothing to keep is deleted."""
        self.handle_delete(token)

    def handle_delete_snapshot(self, resource_data: dict) -> None:
        """A snapshot that kept `resource_data` of this resource is deleted (or failed):
        let go of what handle_snapshot made in the cloud."""

    def handle_restore(self, resource_data: dict) -> None:
        """After a restore's update walked this resource: put back what the snapshot kept."""
        for key in self.restore_keys:
            if key in resource_data:
                self.data[key] = resource_data[key]

    def checkpoint(self) -> None:
        """Store physical_id and data now, mid-action (the engine replaces this per action):
        an engine restart then knows the physical resource exists and cleans it up."""

    def can_continue(self, step: str) -> bool:
        """After an engine restart interrupted this resource's `step` (CREATE, UPDATE, DELETE,
        SUSPEND, RESUME): whether continue_interrupted can finish it from what the physical
        resource shows. Read only. No (the default): the resumed walk replaces the resource
        (or, for DELETE, SUSPEND and RESUME, calls the handler again)."""
        return False

    def continue_interrupted(self, step: str, token: "CancelToken") -> None:
        """Finish the interrupted `step` (wait for what it started); raise to fail it."""
        raise NotImplementedError(f"{self.type_name} cannot continue an interrupted {step}")

    def handle_cancel(self) -> None:
        """The operation was cancelled while this resource was working (not called when the
        engine stops and hands the operation on: the next engine continues it)."""

    def handle_signal(self, body: Any) -> "Forward | None":
        raise StackValidationFailed(f"Resource {self.name} ({self.type_name}) does not accept signals")

    # -- what others see ---------------------------------------------------------------------
    def reference_id(self) -> Any:
        return self.physical_id or self.name

    def attribute(self, name: str) -> Any:
        """The value of attribute `name`; None while unknown."""
        if name == "show":
            return {"id": self.physical_id, **{k: v for k, v in self.properties.items()}}
        return self.data.get("attributes", {}).get(name)

    def attribute_at(self, name: str, path: tuple) -> Any:
        """get_attr with a path; a type whose attribute needs the path overrides this."""
        return select_path(self.attribute(name), tuple(path))

    def known_attribute(self, name: str) -> bool:
        return (self.attributes_schema is None or name in self.attributes_schema
                or name == "show")

    def physical_name(self) -> str:
        """Heat's `<stack>-<resource>-<short id>`, stable for this resource."""
        short = self.data.setdefault("short_id", self.ctx.short_id())
        return f"{self.ctx.stack_name}-{self.name}-{short}"

