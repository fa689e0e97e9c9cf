"""Flask app factory: wires the store, clock and credentials into the blueprints."""
from __future__ import annotations

from flask import Flask

from metadata_server.api import configs, deployments, servers, signals, versions
from metadata_server.api.common import Context, install_error_handlers
from metadata_server.service.clock import Clock, system_clock
from metadata_server.store import Store

MAX_BODY_BYTES = 1024 * 1024  # Heat's max_json_body_size


def create_app(store: Store, admin_token_hash: str, *, clock: Clock = system_clock,
               public_url: str | None = None, max_body_bytes: int = MAX_BODY_BYTES) -> Flask:
    app = Flask("stoker")
    app.config["MAX_CONTENT_LENGTH"] = max_body_bytes
    app.json.sort_keys = False
    app.extensions["stoker"] = Context(store, clock, admin_token_hash, public_url)
    for module in (versions, configs, deployments, servers, signals):
        app.register_blueprint(module.bp)
    install_error_handlers(app)
    return app
