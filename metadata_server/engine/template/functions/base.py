"""The function machinery: parse raw data into a tree with Function nodes, resolve it.

A map with exactly one key that names a function of the template's version is a call; every
other map is literal data (Heat's rule, misspellings included). Functions raise `ArgError` (or a
built-in TypeError/ValueError) and the resolver turns it into a TemplateError located at the
function's path, e.g. `outputs.x.value.make_url`.
"""
from __future__ import annotations

from typing import Any, Callable, Iterator

from metadata_server.engine.limits import DEFAULT, Limits

from ..errors import TemplateError
from .arg_error import ArgError


class NeedsResource(Exception):
    """Raised while resolving without an engine: the value depends on a resource."""


class _Null:
    """What a false two-argument `if` yields: the enclosing item is removed."""

    _instance = None

    def __new__(cls):
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "<removed by if>"


NULL = _Null()


class Scope:
    """What parsing needs: the version's function table and the template around the value."""

    def __init__(self, *, version: str, features, table: dict[str, type], removed: set[str],
                 resources: set[str], error: Callable[..., TemplateError], where: str,
                 condition: Callable[[Any, tuple], bool] | None = None,
                 condition_table: dict[str, type] | None = None,
                 other_functions: set[str] = frozenset(),
                 warn: Callable[[str, tuple], None] | None = None):
        self.version = version
        self.features = features
        self.table = table
        self.removed = removed
        self.resources = resources
        self.error = error
        self.where = where
        self.condition = condition                  # evaluates an `if` condition at parse time
        self.condition_table = condition_table or {}
        self.other_functions = other_functions      # names invalid in this (condition) context
        self.warn = warn                            # notes about maps that look like calls

    def derive(self, **changes) -> "Scope":
        new = Scope.__new__(Scope)
        new.__dict__.update(self.__dict__)
        new.__dict__.update(changes)
        return new


class Function:
    """One function call in a parsed tree. Subclasses implement `result`."""

    name = ""
    needs_resources = False
    # a result no bigger than a value the template or a resource already holds (get_param,
    # get_attr, ...): not measured again
    fetches = False

    def __init__(self, name: str, args: Any, path: tuple, scope: Scope):
        self.name = name
        self.args = args
        self.path = path
        self.features = scope.features
        self.version = scope.version
        self.validate(scope)

    @classmethod
    def build(cls, name: str, raw_args: Any, path: tuple, scope: Scope) -> Any:
        """Parse the arguments and make the node (macros such as `if` override this)."""
        return cls(name, parse(raw_args, scope, path + (name,)), path, scope)

    def validate(self, scope: Scope) -> None:
        """Check argument shapes that do not depend on values (parse time)."""

    def result(self, r: "Resolver") -> Any:
        raise NotImplementedError

    def references(self) -> Iterator[str]:
        """Resource names this call depends on (get_resource / get_attr)."""
        yield from references(self.args)

    def error(self, scope: Scope, message: str, kind: str = "StackValidationFailed"
              ) -> TemplateError:
        return scope.error(message, self.path + (self.name,), kind, key=True)

    def __eq__(self, other: Any) -> bool:
        return type(other) is type(self) and (self.name, self.args) == (other.name, other.args)

    def __hash__(self) -> int:
        return hash(self.name)

    def __repr__(self) -> str:
        return f"{{{self.name}: {self.args!r}}}"


def parse(value: Any, scope: Scope, path: tuple) -> Any:
    """Raw data -> the same data with Function nodes where there are calls."""
    if isinstance(value, dict):
        if len(value) == 1:
            (key, args), = value.items()
            if isinstance(key, str):
                cls = scope.table.get(key)
                if cls is not None:
                    return cls.build(key, args, path, scope)
                if key in scope.removed:
                    raise scope.error(f"The function {key} is not supported in this version of "
                                      "HOT.", path + (key,), "InvalidTemplateVersion", key=True)
                if key in scope.other_functions:
                    raise scope.error(f'The function "{key}" is invalid in this context',
                                      path + (key,), key=True)
                if scope.warn is not None:
                    _warn_lookalike(key, scope, path)
        return {k: parse(v, scope, path + (k,)) for k, v in value.items()}
    if isinstance(value, list):
        return [parse(v, scope, path + (i,)) for i, v in enumerate(value)]
    return value


def _warn_lookalike(key: str, scope: Scope, path: tuple) -> None:
    """Heat keeps a misspelt or too-new function as a literal map; say so, without failing."""
    from ..errors import did_you_mean
    from ..versions import CONDITION_FUNCTIONS, FUNCTIONS

    if key in FUNCTIONS or key in CONDITION_FUNCTIONS:
        scope.warn(f'"{key}" is not a function in this context or in HOT {scope.version}; the '
                   "map is kept as literal data", path + (key,))
        return
    hint = did_you_mean(key, scope.table)
    if hint:
        scope.warn(f'"{key}" is not a function; the map is kept as literal data{hint}',
                   path + (key,))


def references(value: Any) -> Iterator[str]:
    if isinstance(value, Function):
        yield from value.references()
    elif isinstance(value, dict):
        for item in value.values():
            yield from references(item)
    elif isinstance(value, list):
        for item in value:
            yield from references(item)


def has_functions(value: Any) -> bool:
    if isinstance(value, Function):
        return True
    if isinstance(value, dict):
        return any(has_functions(v) for v in value.values())
    if isinstance(value, list):
        return any(has_functions(v) for v in value)
    return False


_WRAPPED = (ArgError, TypeError, ValueError, KeyError, IndexError, AttributeError)


class Resolver:
    """Resolves a parsed tree. `ctx` is the engine's ResolveContext, or None while validating
    (then a value that needs a resource raises NeedsResource)."""

    def __init__(self, binding: Any, ctx: Any, error: Callable[..., TemplateError]):
        self.binding = binding
        self.ctx = ctx
        self.error = error
        self.limits: Limits = getattr(binding, "limits", None) or DEFAULT

    def resolve(self, value: Any) -> Any:
        if isinstance(value, Function):
            try:
                result = value.result(self)
                if not value.fetches:
                    from .sizes import check_result
                    check_result(self.limits, value.name, result)
                return result
            except (TemplateError, NeedsResource):
                raise
            except _WRAPPED as exc:
                kind = exc.kind if isinstance(exc, ArgError) else type(exc).__name__
                message = exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)
                raise self.error(str(message), value.path + (value.name,), kind, key=True) \
                    from None
        if isinstance(value, dict):
            out = {}
            for key, item in value.items():
                resolved = self.resolve(item)
                if resolved is not NULL:
                    out[key] = resolved
            return out
        if isinstance(value, list):
            return [v for v in (self.resolve(item) for item in value) if v is not NULL]
        return value

    def engine(self):
        """The engine's ResolveContext; NeedsResource while validating without one."""
        if self.ctx is None:
            raise NeedsResource()
        return self.ctx


def check_static(value: Any, resolver: Resolver, cap: int) -> int:
    """Resolve every call that needs no resource, so bad arguments fail at validation; return
    the size of `value` as far as it is known now (a call that needs a resource counts as its
    arguments), counting no further than just past `cap`."""
    from .sizes import measure
    if isinstance(value, Function):
        try:
            return measure(resolver.resolve(value), cap)
        except NeedsResource:
            return check_static(value.args, resolver, cap)
    if isinstance(value, (dict, list)):
        total = 1
        pairs = value.items() if isinstance(value, dict) else ((None, item) for item in value)
        for key, item in pairs:
            total += (0 if key is None else measure(key, cap)) + check_static(item, resolver, cap)
            if total > cap:
                break
        return total
    return measure(value, cap)


def select_path(value: Any, path: tuple | list) -> Any:
    """Heat's get_attr path traversal: None on any failure; no str->int index conversion."""
    for key in path:
        try:
            value = value[key]
        except (KeyError, IndexError, TypeError):
            return None
    return value
