"""Heat's /template_versions views, from the template formats' own registries (formats.py):
each version with its aliases, and the functions a version offers with their descriptions."""
from __future__ import annotations

from metadata_server.engine.template import cfn_template
from metadata_server.engine.template.formats import CFN, HOT
from metadata_server.engine.template.versions import ALIASES, VERSIONS
from metadata_server.service.errors import NotFound

HOT_KEY = "heat_template_version"


def versions() -> list[dict]:
    cfn = [{"version": f"{key}.{date}", "type": "cfn", "aliases": []}
           for key, date in sorted(cfn_template.VERSIONS.items())]
    hot = [{"version": f"{HOT_KEY}.{date}", "type": "hot",
            "aliases": sorted(f"{HOT_KEY}.{alias}" for alias, target in ALIASES.items()
                              if target == date)}
           for date in VERSIONS]
    return cfn + hot


def _tables(version: str) -> tuple[dict, dict]:
    """(function table, condition-function table) of `key.date` (or `key.alias`)."""
    key, _, date = version.partition(".")
    if key == HOT_KEY and (date in VERSIONS or date in ALIASES):
        table, _, conditions = HOT.tables(ALIASES.get(date, date))
        return table, conditions
    if cfn_template.VERSIONS.get(key) == date and date:
        table, _, conditions = CFN.tables(date)
        return table, conditions
    raise NotFound(f"Template with version {version} not found", "NotFound")


# what each function does, as `openstack orchestration template function list` shows it
DESCRIPTIONS = {
    "get_param": "The value of a template parameter.",
    "get_resource": "The reference id of a resource of the stack.",
    "get_attr": "The value of a resource's attribute, optionally a path into it.",
    "get_file": "The content of a file passed with the template.",
    "resource_facade": "A section (metadata, deletion_policy, update_policy) of the resource "
                       "that uses this provider template.",
    "str_replace": "Replace each key of params found in template with its value.",
    "str_replace_strict": "str_replace that fails when a key of params is not in template.",
    "str_replace_vstrict": "str_replace_strict that also fails on an empty value.",
    "list_join": "Join one or more lists of strings with a delimiter.",
    "str_split": "Split a string by a delimiter into a list, or pick one item of it.",
    "digest": "The hex digest of a value by a named hash algorithm.",
    "make_url": "Build a URL from its parts (scheme, host, port, path, query, fragment).",
    "repeat": "Repeat a template for each item (or combination of items) of lists.",
    "map_merge": "Merge maps; later keys win.",
    "map_replace": "Rename the keys and values of a map.",
    "list_concat": "Concatenate lists.",
    "list_concat_unique": "Concatenate lists, keeping the first of equal items.",
    "filter": "Drop the given values from a list.",
    "contains": "Whether a value is in a sequence.",
    "if": "One of two values, by a condition.",
    "yaql": "The result of a YAQL expression over data.",
    "equals": "Whether two values are equal.",
    "not": "The negation of a condition.",
    "and": "Whether all conditions hold.",
    "or": "Whether any condition holds.",
    "Fn::Select": "An item of a list or map, by index or key.",
    "Ref": "The value of a parameter, or the reference id of a resource.",
    "Fn::GetAtt": "The value of a resource's attribute.",
    "Fn::GetAZs": "The availability zones (stoker has none to tell).",
    "Fn::Join": "Join a list of strings with a delimiter.",
    "Fn::Split": "Split a string by a delimiter into a list.",
    "Fn::Replace": "Replace each key of a map found in a string with its value.",
    "Fn::Base64": "The string given (Heat does not encode it).",
    "Fn::MemberListToMap": "A map from a list of .member.N.Key/.member.N.Value strings.",
    "Fn::ResourceFacade": "A section of the resource that uses this provider template.",
    "Fn::FindInMap": "A value from the template's Mappings by map, key and value name.",
    "Fn::If": "One of two values, by a named condition.",
    "Fn::Equals": "Whether two values are equal.",
    "Fn::Not": "The negation of a condition.",
    "Fn::And": "Whether all conditions hold.",
    "Fn::Or": "Whether any condition holds.",
}


def functions(version: str, with_condition: bool = False) -> list[dict]:
    table, conditions = _tables(version)
    found = dict(table)
    if with_condition:
        found.update({name: impl for name, impl in conditions.items() if name not in found})
    return [{"functions": name, "description": DESCRIPTIONS.get(name, "No description available")}
            for name in sorted(found)]
