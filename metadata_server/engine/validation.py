"""Checks a bound template must pass before anything is stored: types, property names, the
deployment/server rule, and an acyclic dependency graph."""
from __future__ import annotations

from metadata_server.engine import status as st
from metadata_server.engine.errors import StackValidationFailed
from metadata_server.engine.graph import Graph
from metadata_server.engine.resources import resource_class

DEPLOYMENT_TYPES = ("OS::Heat::SoftwareDeployment", "OS::Heat::StructuredDeployment")


def _check_deployment_server(defn, defs: dict) -> None:
    """Heat's rule: a deployment's Nova server in this stack must use SOFTWARE_CONFIG."""
    props = defn.properties if isinstance(defn.properties, dict) else {}
    if defn.type not in DEPLOYMENT_TYPES or not isinstance(props.get("server"), dict):
        return
    target = props["server"].get("get_resource")
    server = defs.get(target) if isinstance(target, str) else None
    if server is None or server.type != "OS::Nova::Server":
        return
    fmt = (server.properties or {}).get("user_data_format", "HEAT_CFNTOOLS")
    if fmt != "SOFTWARE_CONFIG":
        raise StackValidationFailed(
            f"Resource {target}'s property user_data_format should be set to SOFTWARE_CONFIG "
            "since there are software deployments on it.", f"resources.{defn.name}.properties.server")




def dependency_graph(bound) -> Graph:
    names = [d.name for d in bound.resource_definitions()]
    graph = Graph({n: bound.dependencies(n) for n in names})
    graph.check_acyclic()
    return graph


def validate(bound) -> Graph:
    defs = {d.name: d for d in bound.resource_definitions()}
    for defn in defs.values():
        _check_deployment_server(defn, defs)
        cls = resource_class(defn.type, defn.provider_template, f"resources.{defn.name}.type")
        props = defn.properties
        if isinstance(props, dict) and not cls.accepts_any_properties:
            for key in props:
                if key not in cls.properties_schema:
                    raise StackValidationFailed(f"Unknown Property {key}",
                                                f"resources.{defn.name}.properties.{key}")
    return dependency_graph(bound)


def suspend_graph(bound, action: str) -> Graph:
    """Heat's order: suspend dependants first, resume dependencies first."""
    graph = dependency_graph(bound)
    return graph.reversed() if action == st.SUSPEND else graph
