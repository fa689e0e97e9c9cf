"""get_param, get_file, resource_facade (and the CFN Ref / Fn::ResourceFacade)."""
from __future__ import annotations

from typing import Any

from .base import ArgError, Function, Scope

FACADE_SECTIONS = ("metadata", "deletion_policy", "update_policy")


def traverse_param(value: Any, path: list) -> Any:
    """get_param's path: maps by key, lists by int or int-string; any failure gives ''."""
    for key in path:
        try:
            if isinstance(value, list):
                value = value[int(key)]
            elif isinstance(value, dict):
                value = value[key]
            else:
                return ""
        except (KeyError, IndexError, TypeError, ValueError):
            return ""
    return value


class GetParam(Function):
    fetches = True
    def validate(self, scope: Scope) -> None:
        args = self.args
        if isinstance(args, list):
            if not args:
                raise self.error(scope, 'Function "get_param" must have arguments')
            name = args[0]
        else:
            name = args
        if not isinstance(name, (str, Function)):
            raise self.error(scope, f'Function "get_param" expects a parameter name (a string),'
                                    f" not {name!r}", "TypeError")

    def result(self, r):
        args = r.resolve(self.args)
        name, path = (args[0], args[1:]) if isinstance(args, list) else (args, [])
        if not isinstance(name, str):
            raise ArgError("Parameter name must be a string", "TypeError")
        value = r.binding.param(name)
        return traverse_param(value, path) if path else value


class Ref(Function):
    """CFN Ref (2013-05-23 only): a parameter, else a resource's reference id."""
    fetches = True

    def validate(self, scope: Scope) -> None:
        if not isinstance(self.args, str):
            raise self.error(scope, "Ref expects a parameter or resource name", "TypeError")

    def result(self, r):
        # a declared parameter without a value yet (template-validate binds without values)
        # is still a parameter: binding.param says so, rather than "incorrect reference"
        if r.binding.has_param(self.args) or self.args in r.binding.template.parameters:
            return r.binding.param(self.args)
        if self.args in r.binding.template.resources:
            return r.binding.resource_id(self.args, r)
        raise ArgError(f'The specified reference "{self.args}" is incorrect.',
                       "InvalidTemplateReference")

    def references(self):
        yield self.args


class GetFile(Function):
    fetches = True
    def validate(self, scope: Scope) -> None:
        if not isinstance(self.args, (str, Function)):
            raise self.error(scope, 'Argument to "get_file" must be a string', "TypeError")

    def result(self, r):
        key = r.resolve(self.args)
        if not isinstance(key, str):
            raise ArgError('Argument to "get_file" must be a string', "TypeError")
        files = r.binding.files
        if key not in files:
            raise ArgError('No content found in the "files" section for get_file path: ' + key,
                           "ValueError")
        return files[key]


class ResourceFacade(Function):
    fetches = True
    SECTIONS = {s: s for s in FACADE_SECTIONS}

    def validate(self, scope: Scope) -> None:
        if not isinstance(self.args, str) or self.args not in self.SECTIONS:
            raise self.error(scope, f'Incorrect arguments to "{self.name}" should be: '
                                    f'{self.name}: {" | ".join(self.SECTIONS)}', "ValueError")

    def result(self, r):
        return r.engine().resource_facade(self.SECTIONS[self.args])


class FnResourceFacade(ResourceFacade):
    SECTIONS = {"Metadata": "metadata", "DeletionPolicy": "deletion_policy",
                "UpdatePolicy": "update_policy"}
