"""The template formats stoker reads (HOT and CloudFormation) and how a document picks one.

A format says which version keys and values it answers to, builds a `Template` from a decoded
document (its sections, resource keys and parameter schema reader), and gives a version's
features, function tables and pseudo parameters. Everything after the build (binding,
conditions, functions, constraints, limits) is shared: the binding asks the template's format.
"""
from __future__ import annotations

from typing import Any, Protocol

from metadata_server.engine.limits import Limits

from . import cfn_template, hot
from .functions import tables as hot_tables
from .model import Positions, Template
from .versions import Features, valid_versions_text


class TemplateFormat(Protocol):
    name: str
    version_keys: tuple[str, ...]

    def build(self, data: dict, positions: Positions, files: dict[str, str],
              limits: Limits) -> Template:
        """A decoded document whose version key is one of `version_keys` -> Template."""

    def features(self, version: str) -> Any:
        """The non-function differences of a version (see versions.Features)."""

    def tables(self, version: str) -> tuple[dict, set, dict]:
        """(function table, removed names, condition-function table)."""

    def pseudo_parameters(self, identity: Any) -> dict[str, Any]:
        """Parameter names every stack answers, with their values for `identity`."""


class HotFormat:
    name = "HOT"
    version_keys = ("heat_template_version",)

    def build(self, data, positions, files, limits):
        return hot.build_template(data, positions, files, limits)

    def features(self, version):
        return Features(version)

    def tables(self, version):
        return hot_tables(version)

    def pseudo_parameters(self, identity):
        return {"OS::stack_name": identity.stack_name, "OS::stack_id": identity.stack_id,
                "OS::project_id": identity.project_id}

    def valid_versions(self) -> str:
        return valid_versions_text()


HOT = HotFormat()
CFN = cfn_template.CfnFormat()
# the one registry of formats, in the order a document's version keys are looked for
FORMATS: tuple[TemplateFormat, ...] = (HOT, CFN)


def version_keys() -> tuple[str, ...]:
    return tuple(key for fmt in FORMATS for key in fmt.version_keys)


def detect(data: Any, positions: Positions) -> TemplateFormat:
    """The format whose version key the document carries (exactly one key may be present)."""
    if not isinstance(data, dict):
        raise positions.error("The template is not a JSON object or YAML mapping.", (),
                              "ValueError")
    present = [key for key in version_keys() if key in data]
    if len(present) > 1:
        raise positions.error(f"Ambiguous versions ({', '.join(present)})", (),
                              "InvalidTemplateVersion")
    if not present:
        raise positions.error("Template version was not provided", (), "InvalidTemplateVersion")
    return next(fmt for fmt in FORMATS if present[0] in fmt.version_keys)


def build(data: Any, positions: Positions, files: dict[str, str], limits: Limits) -> Template:
    return detect(data, positions).build(data, positions, files, limits)


def format_of(template: Template) -> TemplateFormat:
    return template.format or HOT
