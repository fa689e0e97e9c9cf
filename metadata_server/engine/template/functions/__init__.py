"""HOT intrinsic functions, one module per family, and the per-version tables."""
from __future__ import annotations

from ..versions import condition_functions_for, functions_for
from .base import (NULL, ArgError, Function, NeedsResource, Resolver, Scope, check_static,
                   has_functions, parse, references, select_path)
from .collections import (Contains, Filter, GetAZs, ListConcat, ListConcatUnique, MapMerge,
                          MapReplace, MemberListToMap, Repeat, Select)
from .logic import And, Equals, If, Not, Or
from .params import FnResourceFacade, GetFile, GetParam, Ref, ResourceFacade
from .resources import GetAttr, GetResource
from .strings import (Digest, FnBase64, FnJoin, FnReplace, FnSplit, ListJoin, MakeUrl,
                      StrReplace, StrReplaceStrict, StrReplaceVstrict, StrSplit)
from .yaql_fn import Yaql

# every function name -> its implementation; versions.py says which exist in which version
IMPLEMENTATIONS: dict[str, type[Function]] = {
    "get_param": GetParam, "get_resource": GetResource, "get_attr": GetAttr,
    "get_file": GetFile, "resource_facade": ResourceFacade, "str_replace": StrReplace,
    "str_replace_strict": StrReplaceStrict, "str_replace_vstrict": StrReplaceVstrict,
    "list_join": ListJoin, "str_split": StrSplit, "digest": Digest, "make_url": MakeUrl,
    "repeat": Repeat, "map_merge": MapMerge, "map_replace": MapReplace,
    "list_concat": ListConcat, "list_concat_unique": ListConcatUnique, "filter": Filter,
    "contains": Contains, "if": If, "yaql": Yaql, "Fn::Select": Select,
    "Ref": Ref, "Fn::GetAZs": GetAZs, "Fn::Join": FnJoin, "Fn::Split": FnSplit,
    "Fn::Replace": FnReplace, "Fn::Base64": FnBase64, "Fn::MemberListToMap": MemberListToMap,
    "Fn::ResourceFacade": FnResourceFacade,
}
CONDITION_IMPLEMENTATIONS: dict[str, type[Function]] = {
    "get_param": GetParam, "equals": Equals, "not": Not, "and": And, "or": Or,
    "yaql": Yaql, "contains": Contains,
}


def tables(version: str) -> tuple[dict, set, dict]:
    """(function table, removed names, condition-function table) for a version."""
    available, removed = functions_for(version)
    table = {name: IMPLEMENTATIONS[name] for name in available}
    conditions = {name: CONDITION_IMPLEMENTATIONS[name]
                  for name in condition_functions_for(version)}
    return table, removed, conditions


__all__ = ["NULL", "ArgError", "Function", "NeedsResource", "Resolver", "Scope", "check_static",
           "has_functions", "parse", "references", "select_path", "tables"]
