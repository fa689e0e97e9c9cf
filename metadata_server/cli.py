"""`stoker server`: run the metadata server. Server dependencies are imported only when it runs."""
from __future__ import annotations

import argparse
import os
import secrets
import signal
import sys
import threading
from pathlib import Path

ADMIN_TOKEN_FILE = "admin-token"


def register(subparsers, name: str, help_text: str) -> None:
    parser = subparsers.add_parser(
        name, help=help_text,
        description="Run the stoker metadata / deployment server: Heat-compatible software "
        "config and deployment API, per-server documents for agents, and signals.",
        epilog="The admin token is read from STOKER_ADMIN_TOKEN, else from (or generated into) "
        "STATE_DIR/admin-token; a generated token is printed once.")
    parser.add_argument("--bind", default="127.0.0.1:8004", metavar="HOST:PORT",
                        help="address to listen on; port 0 picks a free port (default %(default)s)")
    parser.add_argument("--state-dir", required=True, metavar="DIR",
                        help="directory for the SQLite database and the generated admin token")
    parser.add_argument("--db", metavar="URL",
                        help="database URL (default: sqlite in STATE_DIR; postgresql://... for PostgreSQL)")
    parser.add_argument("--public-url", metavar="URL",
                        help="base URL agents use to reach this server (default: the request's host)")
    parser.add_argument("--log-level", default="INFO", help="logging level (default %(default)s)")
    parser.set_defaults(func=run)


def _parse_bind(bind: str) -> tuple[str, int]:
    host, sep, port = bind.rpartition(":")
    if not sep or not port.isdigit():
        raise SystemExit(f"stoker server: --bind {bind!r} is not HOST:PORT")
    return host or "127.0.0.1", int(port)


def admin_token(state_dir: Path) -> tuple[str, bool]:
    """The admin token, and whether it was generated just now."""
    if os.environ.get("STOKER_ADMIN_TOKEN"):
        return os.environ["STOKER_ADMIN_TOKEN"], False
    path = state_dir / ADMIN_TOKEN_FILE
    if path.exists():
        return path.read_text().strip(), False
    token = secrets.token_urlsafe(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(token + "\n")
    return token, True


def run(args: argparse.Namespace) -> int:
    import logging

    from werkzeug.serving import WSGIRequestHandler, make_server

    from metadata_server.app import create_app
    from metadata_server.service.credentials import token_hash
    from metadata_server.store import open_store
    from metadata_server.store.database import sqlite_url

    logging.basicConfig(level=args.log_level.upper(), stream=sys.stderr,
                        format="%(asctime)s stoker-server %(levelname)s %(message)s")
    state_dir = Path(args.state_dir)
    state_dir.mkdir(parents=True, exist_ok=True)
    host, port = _parse_bind(args.bind)
    token, generated = admin_token(state_dir)
    try:
        store = open_store(args.db or sqlite_url(state_dir))
    except Exception as exc:  # a bad URL or unreachable database: one line, no traceback
        print(f"stoker server: cannot open database: {exc.__class__.__name__}: {exc}",
              file=sys.stderr)
        return 1
    app = create_app(store, token_hash(token), public_url=args.public_url)

    class QuietHandler(WSGIRequestHandler):
        # signal URLs carry their signature in the query: log the path only
        def log_request(self, code="-", size="-"):
            path = self.path.split("?", 1)[0]
            logging.getLogger("stoker.http").info('%s "%s %s" %s', self.address_string(),
                                                  self.command, path, code)

    server = make_server(host, port, app, threaded=True, request_handler=QuietHandler)
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    if generated:
        print(f"admin token (shown once, kept in {state_dir / ADMIN_TOKEN_FILE}): {token}",
              flush=True)
    print(f"stoker server listening on http://{host}:{server.server_port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0
