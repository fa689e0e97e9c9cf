"""Flask app factory: wires the store, clock and credentials into the blueprints."""
from __future__ import annotations

from flask import Flask

from metadata_server.api import (cfn, cfn_signal, cfn_waitcondition, configs, deployments,
                                 health, heat_catalog, identity, metrics_ingest, servers, signals,
                                 signed_metadata, stack_gates, stack_snapshots, stacks, tokens,
                                 versions, wheelhouse)
from metadata_server.api.common import Context, install_error_handlers
from metadata_server.api.fast_path import PollFastPath
from metadata_server.dashboard import bp as dashboard
from metadata_server.engine.limits import DEFAULT, Limits
from metadata_server.service.clock import Clock, system_clock
from metadata_server.service.deployments import DEFAULT_TIMEOUT_SECONDS
from metadata_server.store import Store

MAX_BODY_BYTES = 1024 * 1024  # Heat's max_json_body_size


def create_app(store: Store, admin_token_hash: str, *, clock: Clock = system_clock,
               public_url: str | None = None, max_body_bytes: int = MAX_BODY_BYTES,
               deployment_timeout: float = DEFAULT_TIMEOUT_SECONDS,
               poll_interval: float | None = 30.0, limits: Limits = DEFAULT,
               stack_abandon: bool = True, stack_adopt: bool = False) -> Flask:
    app = Flask("stoker")
    app.config["MAX_CONTENT_LENGTH"] = max_body_bytes
    app.json.sort_keys = False
    context = Context(store, clock, admin_token_hash, public_url, deployment_timeout,
                      poll_interval)
    app.extensions["stoker"] = context
    app.extensions["stoker-limits"] = limits   # what the engine allows one template
    app.extensions[stack_gates.SETTINGS] = {"abandon": stack_abandon, "adopt": stack_adopt}
    app.wsgi_app = PollFastPath(app.wsgi_app, context)
    for module in (versions, cfn, health, configs, deployments, servers, signals, tokens,
                   signed_metadata, stacks, stack_snapshots, heat_catalog, identity,
                   cfn_waitcondition, wheelhouse, metrics_ingest, cfn_signal):
        app.register_blueprint(module.bp)
    app.register_blueprint(dashboard)   # the web pages at /dashboard
    install_error_handlers(app)
    return app
