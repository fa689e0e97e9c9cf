"""Parameter constraints: length, range, modulo, allowed_values, allowed_pattern, custom.

Each constraint checks an already coerced value and returns the reason it fails (or None). A
`description` on the constraint replaces the default reason, as in Heat.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

try:   # the server extra installs it: a pattern is matched with a time limit, GIL released
    import regex as _timed
except ImportError:   # pragma: no cover - a bare template-package install
    _timed = None

# a tenant's allowed_pattern may backtrack catastrophically (`(a+)+$`): matching one value stops
# after this long and the value is refused, instead of holding the server's interpreter
PATTERN_SECONDS = 1.0

KINDS = ("length", "range", "modulo", "allowed_values", "allowed_pattern", "custom_constraint")
APPLIES_TO = {
    "length": {"string", "comma_delimited_list", "json"},
    "range": {"number"},
    "modulo": {"number"},
    "allowed_values": {"string", "number", "comma_delimited_list", "boolean", "json"},
    "allowed_pattern": {"string", "comma_delimited_list"},
    "custom_constraint": {"string", "number", "comma_delimited_list", "boolean", "json"},
}


class ConstraintSchemaError(ValueError):
    """A constraint that is itself malformed (message names what to fix)."""


_TRUE = {"1", "t", "true", "on", "y", "yes"}
_FALSE = {"0", "f", "false", "off", "n", "no"}


def to_bool(value: Any) -> bool:
    """Heat's strict bool_from_string."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(f"Unrecognized value '{value}', acceptable values are: "
                     "'0', '1', 'f', 'false', 'n', 'no', 'off', 'on', 't', 'true', 'y', 'yes'")


def to_number(value: Any) -> int | float:
    """An int or float from a number or numeric text, as Heat reads both; ValueError if not."""
    if isinstance(value, bool) or isinstance(value, (list, dict)) or value is None:
        raise ValueError(f"Value '{value}' is not a number")
    if isinstance(value, (int, float)):
        return value
    try:
        return int(value)
    except (TypeError, ValueError):
        try:
            return float(value)
        except (TypeError, ValueError):
            raise ValueError(f"Value '{value}' is not a number") from None


def _num(value: Any, what: str) -> float | int:
    try:
        return to_number(value)
    except ValueError:
        raise ConstraintSchemaError(f"{what} must be a number, not {value!r}") from None


def _fmt(n: Any) -> str:
    return str(int(n)) if isinstance(n, float) and n.is_integer() else str(n)


def _fullmatch(pattern: str, text: str) -> bool:
    if _timed is not None:
        try:
            return _timed.fullmatch(pattern, text, timeout=PATTERN_SECONDS,
                                    concurrent=True) is not None
        except _timed.error:
            pass   # a pattern only `re` reads (it was checked with `re`, as Heat does)
    return re.fullmatch(pattern, text) is not None


@dataclass
class Constraint:
    kind: str
    spec: Any
    description: str | None = None

    def reason(self, value: Any, param_type: str) -> str | None:
        """Why `value` breaks this constraint, or None if it does not."""
        try:
            ok = getattr(self, "_check_" + self.kind)(value, param_type)
        except TimeoutError:
            return (f"matching the pattern {self.spec} took longer than {PATTERN_SECONDS:g} s "
                    "(it backtracks too much for this value)")
        if ok:
            return None
        return self.description or self.default_description()

    # each check returns True when the value passes
    def _check_length(self, value, param_type):
        n = len(value)
        lo, hi = self.spec.get("min"), self.spec.get("max")
        return (lo is None or n >= lo) and (hi is None or n <= hi)

    def _check_range(self, value, param_type):
        lo, hi = self.spec.get("min"), self.spec.get("max")
        return (lo is None or value >= lo) and (hi is None or value <= hi)

    def _check_modulo(self, value, param_type):
        return value % self.spec["step"] == self.spec["offset"]

    def _check_allowed_values(self, value, param_type):
        allowed = self.spec
        if param_type == "comma_delimited_list":
            return all(item in allowed for item in value)
        if param_type == "boolean":
            return value in [to_bool(a) for a in allowed if _is_boolish(a)]
        if param_type == "number":
            return any(_num_or_none(a) == value for a in allowed)
        return value in allowed

    def _check_allowed_pattern(self, value, param_type):
        items = value if isinstance(value, list) else [value]
        return all(_fullmatch(self.spec, str(item)) for item in items)

    def _check_custom_constraint(self, value, param_type):
        return True   # plugin lookups (nova.flavor, ...) belong to the engine's resources

    def default_description(self) -> str:
        s = self.spec
        if self.kind in ("length", "range"):
            prefix = "length must be" if self.kind == "length" else "must be"
            lo, hi = s.get("min"), s.get("max")
            if lo is not None and hi is not None:
                inner = "between %s and %s" if self.kind == "length" else "in the range %s to %s"
                return f"{prefix} {inner % (_fmt(lo), _fmt(hi))}."
            if lo is not None:
                return f"{prefix} at least {_fmt(lo)}."
            return f"{prefix} no greater than {_fmt(hi)}."
        if self.kind == "modulo":
            return (f"must be a multiple of {_fmt(s['step'])} with an offset of "
                    f"{_fmt(s['offset'])}.")
        if self.kind == "allowed_values":
            return "Allowed values: " + ", ".join(str(v) for v in s)
        if self.kind == "allowed_pattern":
            return f'Value must match pattern: {s}'
        return f"Value must satisfy custom constraint {s}"


def _is_boolish(v: Any) -> bool:
    try:
        to_bool(v)
        return True
    except ValueError:
        return False


def _num_or_none(v: Any):
    try:
        return _num(v, "value")
    except ConstraintSchemaError:
        return None


def parse_constraint(raw: Any, param_type: str, modulo_allowed: bool) -> Constraint:
    """One entry of a parameter's `constraints` list -> Constraint (or ConstraintSchemaError)."""
    if not isinstance(raw, dict):
        raise ConstraintSchemaError(f"Invalid parameter constraints, expected a map: {raw!r}")
    description = raw.get("description")
    kinds = [k for k in raw if k != "description"]
    if len(kinds) != 1:
        raise ConstraintSchemaError(
            "each constraint needs exactly one of " + ", ".join(KINDS)
            + (f"; got {', '.join(map(str, kinds))}" if kinds else ""))
    kind = kinds[0]
    if kind not in KINDS or (kind == "modulo" and not modulo_allowed):
        raise ConstraintSchemaError(f'Invalid key "{kind}" for parameter constraints'
                                    + ("; modulo needs 2017-02-24 or later"
                                       if kind == "modulo" else ""))
    if param_type not in APPLIES_TO[kind]:
        raise ConstraintSchemaError(f"Invalid {kind} constraint for parameter type {param_type}")
    spec = raw[kind]
    if kind in ("length", "range"):
        if not isinstance(spec, dict) or not set(spec) <= {"min", "max"} or not spec:
            raise ConstraintSchemaError(f"{kind} takes a map with min and/or max, not {spec!r}")
        spec = {k: _num(v, f"{kind}.{k}") for k, v in spec.items()}
    elif kind == "modulo":
        if not isinstance(spec, dict) or set(spec) != {"step", "offset"}:
            raise ConstraintSchemaError("modulo takes a map with both step and offset")
        spec = {k: _num(v, f"modulo.{k}") for k, v in spec.items()}
        if spec["step"] == 0:
            raise ConstraintSchemaError("modulo step cannot be 0")
        if abs(spec["offset"]) >= abs(spec["step"]):
            raise ConstraintSchemaError("modulo offset must be smaller than step")
    elif kind == "allowed_values":
        if not isinstance(spec, list):
            raise ConstraintSchemaError(f"allowed_values must be a list, not {spec!r}")
    elif kind == "allowed_pattern":
        if not isinstance(spec, str):
            raise ConstraintSchemaError(f"allowed_pattern must be a string, not {spec!r}")
        try:
            re.compile(spec)
        except re.error as exc:
            raise ConstraintSchemaError(f"allowed_pattern {spec!r} is not a valid regex: {exc}"
                                        ) from None
    elif not isinstance(spec, str):
        raise ConstraintSchemaError(f"custom_constraint must be a name, not {spec!r}")
    return Constraint(kind, spec, description if isinstance(description, str) else None)
