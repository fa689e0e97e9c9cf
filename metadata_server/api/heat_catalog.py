"""/v1/{tenant_id}: Heat's read-only routes about the service itself (resource types, template
versions and their functions, engine services); the views are in type_schemas.py and
template_catalog.py."""
from __future__ import annotations

import importlib.metadata
import socket
from datetime import datetime, timedelta

from flask import Blueprint, current_app, jsonify, request

from metadata_server.api import template_catalog, type_schemas
from metadata_server.api.common import admin, ctx
from metadata_server.api.app_engine import engine, engine_started
from metadata_server.service.errors import InvalidInput

bp = Blueprint("heat_catalog", __name__, url_prefix="/v1/<tenant>")
ENGINE_BINARY = "heat-engine"   # what Heat's clients and monitoring look for


def _flag(key: str) -> bool:
    value = request.args.get(key, "false").lower()
    if value not in ("true", "false", "1", "0", "yes", "no"):
        raise InvalidInput(f"{key}: {value!r} is not a boolean (true or false)")
    return value in ("true", "1", "yes")


def _one(key: str) -> str | None:
    values = request.args.getlist(key)
    if len(values) > 1:
        raise InvalidInput(f"{key}: give it at most once, got {len(values)} values")
    return values[0] if values else None


@bp.get("/resource_types")
def resource_types(tenant):
    admin()
    return jsonify({"resource_types": type_schemas.list_types(
        name=_one("name"), version=_one("version"), status=_one("support_status"),
        with_description=_flag("with_description"))})


@bp.get("/resource_types/<path:type_name>/template")
def resource_type_template(tenant, type_name):
    admin()
    return jsonify(type_schemas.template(type_name, request.args.get("template_type", "cfn")))


@bp.get("/resource_types/<path:type_name>")
def resource_type(tenant, type_name):
    admin()
    return jsonify(type_schemas.schema(type_name, with_description=_flag("with_description")))


@bp.get("/template_versions")
def template_versions(tenant):
    admin()
    return jsonify({"template_versions": template_catalog.versions()})


@bp.get("/template_versions/<version>/functions")
def template_functions(tenant, version):
    admin()
    return jsonify({"template_functions": template_catalog.functions(
        version, with_condition=_flag("with_condition_func"))})


def _when(value: datetime | None) -> str | None:
    """Heat's services timestamps: `YYYY-MM-DD HH:MM:SS.ffffff`, UTC."""
    return None if value is None else value.replace(tzinfo=None).isoformat(sep=" ")


@bp.get("/services")
def services(tenant):
    """This server's engine, and every engine that holds a running operation, with its latest
    heartbeat: `up` while the heartbeat is younger than the takeover delay."""
    admin()
    eng = engine()
    now = ctx().clock()
    stale = timedelta(seconds=eng.recovery.stale_after)
    beats = dict(getattr(eng.stacks, "engine_heartbeats", dict)())
    beats[eng.engine_id] = now
    host = socket.gethostname()
    found = []
    for engine_id, beat in sorted(beats.items()):
        own = engine_id == eng.engine_id
        found.append({
            "id": engine_id, "engine_id": engine_id, "binary": ENGINE_BINARY, "topic": "engine",
            "host": host if own else None, "hostname": host if own else None,
            "report_interval": eng.heartbeat_interval,
            "status": "up" if beat is not None and _naive(now) - _naive(beat) <= stale
            else "down",
            "created_at": _when(engine_started(current_app) if own else None),
            "updated_at": _when(beat), "deleted_at": None})
    return jsonify({"services": found})


@bp.get("/build_info")
def build_info(tenant):
    """Heat's build info (`openstack orchestration build info`): the revision of the API and
    of the engine, which are one program here: the installed stoker's version."""
    admin()
    revision = _revision()
    return jsonify({"api": {"revision": revision}, "engine": {"revision": revision}})


def _revision() -> str:
    try:
        return importlib.metadata.version("stoker")
    except importlib.metadata.PackageNotFoundError:   # run from a source tree
        return "unknown"   # Heat's own default revision


def _naive(value: datetime) -> datetime:
    return value.replace(tzinfo=None)
