"""The CloudFormation template format as Heat reads it: AWSTemplateFormatVersion 2010-09-09
(with Conditions and Fn::If) and HeatTemplateFormatVersion 2012-12-12 (without).

The document's CFN keys are translated to the shared model once, here; the rest of the package
(binding, conditions, functions, constraints, limits) is the one HOT uses. Errors still name the
CFN path (`Resources.web.Properties`) and its line and column: CfnPositions maps the shared
model's paths back to the keys written in the document.
"""
from __future__ import annotations

from typing import Any

from metadata_server.engine.limits import Limits

from . import cfn_functions
from .cfn_parameters import parse_schemas
from .errors import did_you_mean
from .hot import build_output, build_resources, section_map
from .model import Positions, Template
from .versions import Features

VERSIONS = {"AWSTemplateFormatVersion": "2010-09-09", "HeatTemplateFormatVersion": "2012-12-12"}
WITH_CONDITIONS = "2010-09-09"

# shared-model key -> CFN key, per level of the document
SECTIONS = {"resources": "Resources", "outputs": "Outputs", "parameters": "Parameters",
            "conditions": "Conditions", "description": "Description", "mappings": "Mappings"}
RESOURCE_KEYS = {"type": "Type", "properties": "Properties", "metadata": "Metadata",
                 "depends_on": "DependsOn", "deletion_policy": "DeletionPolicy",
                 "update_policy": "UpdatePolicy", "description": "Description",
                 "condition": "Condition"}
OUTPUT_KEYS = {"value": "Value", "description": "Description", "condition": "Condition"}
PARAMETER_KEYS = {"default": "Default", "type": "Type"}
_NESTED = {"Resources": RESOURCE_KEYS, "Outputs": OUTPUT_KEYS, "Parameters": PARAMETER_KEYS}
REGION = "ap-southeast-1"   # Heat's default AWS::Region


def cfn_path(path: tuple) -> tuple:
    """A shared-model path (`resources.web.properties`) as written in a CFN document; a path
    already in CFN form (`Resources.web.properties`, a key as written) is left as it is."""
    if not path or not isinstance(path[0], str) or path[0] not in SECTIONS:
        return path
    head = SECTIONS[path[0]]
    out = (head,) + tuple(path[1:])
    keys = _NESTED.get(head)
    if keys and len(out) > 2 and isinstance(out[2], str):
        out = out[:2] + (keys.get(out[2], out[2]),) + out[3:]
    return out


class CfnPositions(Positions):
    """Positions of a CFN document, answering for shared-model paths too."""

    def __init__(self, inner: Positions):
        super().__init__(inner.filename, inner.table, inner.keys)

    def locate(self, path: tuple, key: bool = False):
        return super().locate(cfn_path(tuple(path)), key)

    def error(self, message, path=(), kind="StackValidationFailed", key=False):
        return super().error(message, cfn_path(tuple(path)), kind, key)


class CfnFeatures(Features):
    """CFN behaves as HOT's first version (2013-05-23) except where it has Conditions."""

    def __init__(self, version: str):
        super().__init__("2013-05-23")
        self.version = version
        self.conditions = version == WITH_CONDITIONS
        self.output_errors_fail_create = False

    def key(self, name: str) -> str:
        return RESOURCE_KEYS.get(name) or OUTPUT_KEYS.get(name, name)

    @property
    def resource_keys(self) -> set[str]:
        return {k for k in RESOURCE_KEYS if self.conditions or k != "condition"}

    @property
    def output_keys(self) -> set[str]:
        return {k for k in OUTPUT_KEYS if self.conditions or k != "condition"}

    @property
    def sections(self) -> set[str]:
        base = {"Description", "Mappings", "Parameters", "Resources", "Outputs"}
        return base | ({"Conditions"} if self.conditions else set())


def _version(data: dict, positions: Positions) -> str:
    key = next(k for k in VERSIONS if k in data)
    if data[key] != VERSIONS[key]:
        raise positions.error(f'The template version is invalid: "{key}: {data[key]}". '
                              f'"{key}" should be one of: {VERSIONS[key]}', (key,),
                              "InvalidTemplateVersion")
    return VERSIONS[key]


def _translated(kind: str, name: Any, spec: Any, keys: dict[str, str], allowed: set[str],
                positions: Positions, path: tuple) -> Any:
    """A resource or output written with CFN keys -> the same with shared-model keys."""
    if not isinstance(spec, dict):
        return spec   # the shared builder says what is wrong, at this path
    written = {keys[k]: k for k in allowed}
    for key in spec:
        if key not in written:
            raise positions.error(f'"{key}" is not a valid keyword inside a {kind} definition'
                                  + did_you_mean(key, written), path + (name, key), key=True)
    return {written[k]: v for k, v in spec.items()}


def _mappings(data: dict, positions: Positions) -> dict:
    mappings = section_map(data, "Mappings", positions)
    for name, mapping in mappings.items():
        if not isinstance(mapping, dict):
            raise positions.error(f'Mapping "{name}" must be a map of keys to maps',
                                  ("Mappings", name))
    return mappings


def build_template(data: dict, positions: Positions, files: dict[str, str], limits: Limits,
                   fmt: Any = None) -> Template:
    version = _version(data, positions)
    positions = CfnPositions(positions)
    features = CfnFeatures(version)
    version_key = next(k for k in VERSIONS if k in data)
    for key in data:
        if key != version_key and key not in features.sections:
            hint = (" (Conditions need AWSTemplateFormatVersion 2010-09-09)"
                    if key == "Conditions" else did_you_mean(key, features.sections))
            raise positions.error(f"The template section is invalid: {key}{hint}", (key,),
                                  "InvalidTemplateSection", key=True)
    description = data.get("Description", "No description")
    parameters = parse_schemas(data.get("Parameters"), positions)
    _mappings(data, positions)
    raw_resources = {
        name: _translated("resource", name, spec, RESOURCE_KEYS, features.resource_keys,
                          positions, ("Resources",))
        for name, spec in section_map(data, "Resources", positions).items()}
    resources = build_resources(raw_resources, parameters, positions, features, limits)
    outputs = {}
    for name, spec in section_map(data, "Outputs", positions).items():
        spec = _translated("output", name, spec, OUTPUT_KEYS, features.output_keys, positions,
                           ("Outputs",))
        outputs[name] = build_output(name, spec, positions, features)
    return Template(version=version, description=description, parameters=parameters,
                    parameter_groups=[], resources=resources, outputs=outputs,
                    conditions=section_map(data, "Conditions", positions), raw=data,
                    filename=positions.filename, files=files, positions=positions,
                    limits=limits, format=fmt)


class CfnFormat:
    """The formats registry's entry for CFN (see formats.py)."""
    name = "CFN"
    version_keys = tuple(VERSIONS)

    def build(self, data, positions, files, limits):
        return build_template(data, positions, files, limits, self)

    def features(self, version):
        return CfnFeatures(version)

    def tables(self, version):
        return cfn_functions.tables(version == WITH_CONDITIONS)

    def pseudo_parameters(self, identity):
        return {"AWS::StackId": f"arn:openstack:heat::{identity.project_id}:stacks/"
                                f"{identity.stack_name}/{identity.stack_id}",
                "AWS::StackName": identity.stack_name, "AWS::Region": REGION}
