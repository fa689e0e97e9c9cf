"""HOT versions, their aliases, and what each one allows (Heat's setup.cfg `heat.templates`)."""
from __future__ import annotations

VERSIONS = ["2013-05-23", "2014-10-16", "2015-04-30", "2015-10-15", "2016-04-08", "2016-10-14",
            "2017-02-24", "2017-09-01", "2018-03-02", "2018-08-31", "2021-04-16"]
ALIASES = {"newton": "2016-10-14", "ocata": "2017-02-24", "pike": "2017-09-01",
           "queens": "2018-03-02", "rocky": "2018-08-31", "wallaby": "2021-04-16"}
VERSION_KEYS = ("heat_template_version", "HeatTemplateFormatVersion", "AWSTemplateFormatVersion")

# function -> (first version, version from which it is "Removed" or None)
FUNCTIONS: dict[str, tuple[str, str | None]] = {
    "get_param": ("2013-05-23", None), "get_resource": ("2013-05-23", None),
    "get_file": ("2013-05-23", None), "resource_facade": ("2013-05-23", None),
    "get_attr": ("2013-05-23", None), "str_replace": ("2013-05-23", None),
    "list_join": ("2013-05-23", None),
    "Fn::Select": ("2013-05-23", "2015-10-15"),
    "repeat": ("2015-04-30", None), "digest": ("2015-04-30", None),
    "str_split": ("2015-10-15", None), "map_merge": ("2016-04-08", None),
    "map_replace": ("2016-10-14", None), "yaql": ("2016-10-14", None), "if": ("2016-10-14", None),
    "filter": ("2017-02-24", None), "str_replace_strict": ("2017-02-24", None),
    "make_url": ("2017-09-01", None), "list_concat": ("2017-09-01", None),
    "list_concat_unique": ("2017-09-01", None), "str_replace_vstrict": ("2017-09-01", None),
    "contains": ("2017-09-01", None),
}
for _cfn in ("Ref", "Fn::GetAZs", "Fn::Join", "Fn::Split", "Fn::Replace", "Fn::Base64",
             "Fn::MemberListToMap", "Fn::ResourceFacade"):
    FUNCTIONS[_cfn] = ("2013-05-23", "2014-10-16")

# functions allowed in the `conditions` section and `condition:` fields
CONDITION_FUNCTIONS: dict[str, str] = {
    "get_param": "2016-10-14", "equals": "2016-10-14", "not": "2016-10-14",
    "and": "2016-10-14", "or": "2016-10-14", "yaql": "2017-09-01", "contains": "2017-09-01",
}


def at_least(version: str, since: str) -> bool:
    return VERSIONS.index(version) >= VERSIONS.index(since)


def canonical(value: str) -> str | None:
    """The canonical date of a version string or alias, or None when unknown."""
    if value in VERSIONS:
        return value
    return ALIASES.get(value)


def functions_for(version: str) -> tuple[set[str], set[str]]:
    """(available, removed) function names for a version."""
    available, removed = set(), set()
    for name, (since, gone) in FUNCTIONS.items():
        if not at_least(version, since):
            continue
        (removed if gone and at_least(version, gone) else available).add(name)
    return available, removed


def condition_functions_for(version: str) -> set[str]:
    return {name for name, since in CONDITION_FUNCTIONS.items() if at_least(version, since)}


def valid_versions_text() -> str:
    """The list Heat prints in 'should be one of'."""
    return ", ".join(sorted(VERSIONS + list(ALIASES)))


class Features:
    """Non-function differences between versions."""

    def __init__(self, version: str):
        self.version = version
        self.conditions = at_least(version, "2016-10-14")
        self.lowercase_deletion_policy = at_least(version, "2016-10-14")
        self.modulo = at_least(version, "2017-02-24")
        self.parameter_tags = at_least(version, "2018-03-02")
        self.two_arg_if = at_least(version, "2021-04-16")
        self.attr_path_to_resource = at_least(version, "2014-10-16")
        # HOT refuses a stack whose output fails without resources; CFN creates it and shows
        # the output's error (output_error)
        self.output_errors_fail_create = True
        self.all_attributes = at_least(version, "2015-10-15")
        self.json_in_str_replace = at_least(version, "2015-10-15")
        self.multi_list_join = at_least(version, "2015-10-15")
        self.repeat_maps = at_least(version, "2016-10-14")
        self.repeat_permutations = at_least(version, "2017-09-01")

    def key(self, name: str) -> str:
        """A resource or output key as this format writes it (for messages)."""
        return name

    @property
    def resource_keys(self) -> set[str]:
        keys = {"type", "properties", "metadata", "depends_on", "deletion_policy",
                "update_policy", "description"}
        if self.conditions:
            keys |= {"external_id", "condition"}
        return keys

    @property
    def output_keys(self) -> set[str]:
        return {"value", "description"} | ({"condition"} if self.conditions else set())

    @property
    def sections(self) -> set[str]:
        base = {"heat_template_version", "description", "parameter_groups", "parameters",
                "resources", "outputs"}
        return base | ({"conditions"} if self.conditions else set())
