"""get_resource and get_attr: the functions that create dependencies."""
from __future__ import annotations

from ..errors import did_you_mean
from .base import ArgError, Function, Scope, select_path


class GetResource(Function):
    fetches = True
    def validate(self, scope: Scope) -> None:
        if not isinstance(self.args, str):
            raise self.error(scope, 'Argument to "get_resource" must be a resource name',
                             "TypeError")
        if self.args not in scope.resources:
            raise self.error(scope, f'The specified reference "{self.args}" (in {scope.where}) '
                                    "is incorrect." + did_you_mean(self.args, scope.resources),
                             "InvalidTemplateReference")

    def result(self, r):
        return r.binding.resource_id(self.args, r)

    def references(self):
        yield self.args


class GetAttr(Function):
    fetches = True
    def validate(self, scope: Scope) -> None:
        args = self.args
        least = 1 if scope.features.all_attributes else 2
        if not isinstance(args, list) or len(args) < least:
            raise self.error(scope, 'Arguments to "get_attr" must be of the form '
                                    "[resource_name, attribute, (path), ...]", "ValueError")
        if not isinstance(args[0], str):
            raise self.error(scope, 'The resource name in "get_attr" must be a string',
                             "TypeError")
        if args[0] not in scope.resources:
            raise self.error(scope, f'The specified reference "{args[0]}" (in {scope.where}) '
                                    "is incorrect." + did_you_mean(args[0], scope.resources),
                             "InvalidTemplateReference")

    def result(self, r):
        name = self.args[0]
        rest = r.resolve(self.args[1:])
        if not rest:
            return r.binding.attribute(name, None, (), r)
        attr, path = rest[0], tuple(rest[1:])
        if not isinstance(attr, str):
            raise ArgError(f"Attribute name must be a string, not {attr!r}", "TypeError")
        if self.features.attr_path_to_resource:
            return r.binding.attribute(name, attr, path, r)
        return select_path(r.binding.attribute(name, attr, (), r), path)

    def references(self):
        yield self.args[0]
