"""`stoker server`: run the metadata server. Server dependencies are imported only when it runs."""
from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from pathlib import Path

from metadata_server import server_event_sinks, server_metrics
from metadata_server.keepalive import KEEPALIVE_SECONDS
from metadata_server.server_values import count, seconds_or_zero
from metadata_server.service.credentials import new_token
from metadata_server.state_dir import ADMIN_TOKEN_FILE, UnsafeStateDir, prepare, write_secret_file


def register(subparsers, name: str, help_text: str) -> None:
    parser = subparsers.add_parser(
        name, help=help_text,
        description="Run the stoker metadata / deployment server: Heat-compatible software "
        "config and deployment API, per-server documents for agents, and signals.",
        epilog="The admin token is read from STOKER_ADMIN_TOKEN, else from (or generated into) "
        "STATE_DIR/admin-token; a generated token is printed once. STATE_DIR is created 0700; "
        "the server refuses to start when it, or its admin-token file, is open to group or "
        "others.")
    parser.add_argument("--bind", default="127.0.0.1:8004", metavar="HOST:PORT",
                        help="address to listen on; port 0 picks a free port (default %(default)s)")
    parser.add_argument("--state-dir", metavar="DIR",
                        help="directory for the SQLite database and the generated admin token "
                        "(required)")
    parser.add_argument("--db", metavar="URL",
                        help="database URL (default: sqlite in STATE_DIR; postgresql://... for PostgreSQL)")
    parser.add_argument("--public-url", metavar="URL",
                        help="base URL agents use to reach this server (default: the request's "
                        "host); with a PostgreSQL --db, the one URL every node shares (the load "
                        "balancer's), so agents carry on when any one node dies")
    parser.add_argument("--single-node", action="store_true",
                        help="with a PostgreSQL --db and no --public-url: this is the only node, "
                        "so URLs may name it (without this flag the server refuses to start, "
                        "since URLs naming one node break when it dies)")
    parser.add_argument("--workers", type=int, default=0, metavar="N",
                        help="run under gunicorn with N worker processes (default: 0, the "
                        "embedded single-process server)")
    parser.add_argument("--threads", type=int, default=32, metavar="N",
                        help="threads per gunicorn worker, for requests being answered; "
                        "long-polling agents wait without one (default %(default)s)")
    parser.add_argument("--client-timeout", type=float, default=30, metavar="SECONDS",
                        help="how long a client may take to send its whole request (then "
                        "408), and the longest stall while it reads an answer; under --workers "
                        "slow clients hold no thread meanwhile (default %(default)g)")
    parser.add_argument("--deployment-timeout", type=float, default=3600, metavar="SECONDS",
                        help="how long a deployment may stay IN_PROGRESS when it sets no "
                        "deploy_timeout of its own (default %(default)g)")
    parser.add_argument("--poll-interval", type=float, default=30, metavar="SECONDS",
                        help="poll interval suggested to agents (default %(default)g)")
    parser.add_argument("--cloud-driver", choices=("local", "openstack"), default="local",
                        help="where stacks create servers, networks and volumes: `local` records "
                        "them on this machine (servers are agent processes); `openstack` uses a "
                        "cloud through openstacksdk (default %(default)s)")
    parser.add_argument("--os-cloud", metavar="NAME",
                        help="with --cloud-driver openstack: the clouds.yaml entry to use")
    from metadata_server.engine.drivers.local_keeper import positive_seconds
    parser.add_argument("--local-agent-grace", type=positive_seconds, default=60, metavar="SECONDS",
                        help="with the local driver: how long its servers' agents outlive the "
                        "last node on this machine, so a restarted node adopts them "
                        "(default %(default)g)")
    parser.add_argument("--local-cloud-dir", metavar="DIR",
                        help="with the local driver: its records and its servers' agents "
                        "(default STATE_DIR/local-cloud); the nodes on one machine that give "
                        "the same one keep and adopt each other's agents")
    parser.add_argument("--local-max-servers", type=count, default=100, metavar="N",
                        help="with the local driver: servers with an agent process it runs on "
                        "this machine at most; one more fails to create (default %(default)s)")
    parser.add_argument("--local-agent-metrics-interval", type=seconds_or_zero, default=60, metavar="SECONDS",
                        help="with the local driver: its servers' agents sample their metrics (for "
                        "alarms) this often and send them as often; 0 turns them off (default %(default)g)")
    parser.add_argument("--engine-threads", type=count, default=256, metavar="N",
                        help="threads for all stack operations of a server process, nested "
                        "stacks and groups included; more work queues (default %(default)s; a "
                        "tenant uses at most half of them while others wait)")
    parser.add_argument("--engine-db-connections", type=count, default=8, metavar="N",
                        help="database connections for all stack operations of a server "
                        "process, apart from those of requests (default %(default)s)")
    parser.add_argument("--engine-signal-threads", type=count, default=4, metavar="N",
                        help="threads that run scaling policies' signals (a group's resize) "
                        "of a server process (default %(default)s)")
    parser.add_argument("--engine-signals-per-group", type=count, default=4, metavar="N",
                        help="policy signals a scaling group may have waiting for those "
                        "threads; one more is refused, with an event (default %(default)s)")
    parser.add_argument("--engine-signals-queued", type=count, default=256, metavar="N",
                        help="policy signals waiting in all, per server process; one more is "
                        "refused, with an event (default %(default)s)")
    server_event_sinks.add_options(parser)
    server_metrics.add_options(parser)
    # abandon and adopt (docs/operations.md "Abandon and adopt")
    parser.add_argument("--stack-abandon", action=argparse.BooleanOptionalAction, default=True,
                        help="answer DELETE .../abandon: the stack's data, and the stack gone "
                        "from stoker with its resources left running (Heat: "
                        "enable_stack_abandon; default on)")
    parser.add_argument("--stack-adopt", action=argparse.BooleanOptionalAction, default=False,
                        help="create stacks from adopt_stack_data, over the physical resources "
                        "it names (Heat: enable_stack_adopt; default off: a cloud resource's "
                        "id cannot be checked to be the tenant's)")
    parser.add_argument("--log-level", default="INFO", help="logging level (default %(default)s)")
    from metadata_server.engine import limits   # template, stack and function limits
    limits.add_options(parser)
    parser.set_defaults(func=run)
    actions = parser.add_subparsers(dest="server_action", metavar="ACTION")
    _register_rotate_key(actions)


def _register_rotate_key(actions) -> None:
    rotate = actions.add_parser(
        "rotate-key", help="replace the key that signs signal, wait-condition and metadata URLs",
        description="Make a new signing key for signal URLs, wait-condition URLs, signed "
        "metadata URLs and keystone-shim tokens and passwords. The previous key is still "
        "accepted for --grace seconds, so URLs already handed out keep working meanwhile; "
        "running servers (every worker and node on the same database) pick the new key up "
        "at once.")
    # SUPPRESS: given before `rotate-key`, the parent's values are kept
    rotate.add_argument("--state-dir", metavar="DIR", default=argparse.SUPPRESS,
                        help="the server's state directory (required)")
    rotate.add_argument("--db", metavar="URL", default=argparse.SUPPRESS,
                        help="database URL, as given to `stoker server` (default: sqlite in "
                        "STATE_DIR)")
    rotate.add_argument("--grace", type=float, default=86400, metavar="SECONDS",
                        help="how long the previous key is still accepted; 0 retires it at once "
                        "(a leaked key) (default %(default)g)")
    rotate.set_defaults(func=rotate_key)


def _parse_bind(bind: str) -> tuple[str, int]:
    host, sep, port = bind.rpartition(":")
    if not sep or not port.isdigit():
        raise SystemExit(f"stoker server: --bind {bind!r} is not HOST:PORT")
    return host or "127.0.0.1", int(port)


def _require_public_url(args: argparse.Namespace) -> None:
    """A shared database means other nodes may run this node's stacks and serve its agents:
    URLs handed out must name the balancer, not this node (which may die)."""
    shared = (args.db or "").startswith("postgresql")
    if shared and not args.public_url and not args.single_node:
        raise SystemExit(
            "stoker server: refusing to start: --db is PostgreSQL, which several nodes may "
            "share, and no --public-url is set, so signal, metadata and agent URLs would name "
            "this node alone; give --public-url URL (the load balancer in front of every node) "
            "or, for a lone node, --single-node")


def admin_token(state_dir: Path) -> tuple[str, bool]:
    """The admin token, and whether it was generated just now."""
    if os.environ.get("STOKER_ADMIN_TOKEN"):
        return os.environ["STOKER_ADMIN_TOKEN"], False
    path = state_dir / ADMIN_TOKEN_FILE
    if path.exists():
        return path.read_text().strip(), False
    token = new_token()
    write_secret_file(path, token + "\n")
    return token, True


def _secure_state(args: argparse.Namespace, doing: str = "start") -> Path:
    """The state directory, created or checked (and the SQLite file 0600) before any use;
    SystemExit with one line when it is unsafe or missing."""
    from metadata_server.state_dir import sqlite_path
    from metadata_server.store.database import sqlite_url

    if not getattr(args, "state_dir", None):
        raise SystemExit("stoker server: --state-dir DIR is required")
    state_dir = Path(args.state_dir)
    try:
        prepare(state_dir, sqlite_path(getattr(args, "db", None) or sqlite_url(state_dir)))
    except UnsafeStateDir as exc:
        raise SystemExit(f"stoker server: refusing to {doing}: {exc}") from None
    except Exception as exc:  # an unusable path or URL: one line, no traceback
        raise SystemExit(f"stoker server: cannot start: {exc.__class__.__name__}: "
                         f"{str(exc).splitlines()[0] if str(exc) else ''}") from None
    return state_dir


def rotate_key(args: argparse.Namespace) -> int:
    from datetime import timedelta

    from metadata_server.service import signing_keys
    from metadata_server.service.clock import system_clock
    from metadata_server.store import open_store
    from metadata_server.store.database import sqlite_url

    state_dir = _secure_state(args, "rotate the key")
    try:
        store = open_store(getattr(args, "db", None) or sqlite_url(state_dir))
        rotation = signing_keys.rotate(store, system_clock(), timedelta(seconds=args.grace))
    except Exception as exc:  # a bad URL or unreachable database: one line, no traceback
        print(f"stoker server rotate-key: {exc.__class__.__name__}: "
              f"{str(exc).splitlines()[0] if str(exc) else ''}", file=sys.stderr)
        return 1
    print(rotation.summary(), flush=True)
    return 0


def _start_engine(app, args: argparse.Namespace, base_url: str) -> None:
    from metadata_server.api.app_engine import start_engine
    from metadata_server.engine.drivers import make_driver
    from metadata_server.service.endpoints import Endpoints

    context = app.extensions["stoker"]
    if args.cloud_driver == "openstack":
        driver = make_driver("openstack", cloud=args.os_cloud)
        driver.evaluates_alarms = args.alarm_evaluator == "auto"   # Aodh, unless stoker's
    else:
        driver = make_driver("local", state_dir=Path(args.local_cloud_dir or
                                                     Path(args.state_dir) / "local-cloud"),
                             store=context.store, grace=args.local_agent_grace,
                             max_servers=args.local_max_servers,
                             metrics_interval=args.local_agent_metrics_interval)
    liveness = _liveness(args, context.store.engine)
    start_engine(app, Endpoints(args.public_url or base_url, context.signing_key()), driver,
                 liveness, {"threads": args.engine_threads,
                            "db_connections": args.engine_db_connections,
                            "signal_workers": args.engine_signal_threads,
                            "signals_per_group": args.engine_signals_per_group,
                            "signals_queued": args.engine_signals_queued})


def _liveness(args: argparse.Namespace, db):
    """How this engine tells that another one died, faster than its heartbeat going stale."""
    from metadata_server.engine.liveness import AdvisoryLockLiveness, LockFileLiveness
    from metadata_server.store.notify import shared

    if shared(db):  # nodes on other hosts: PostgreSQL drops a dead session's advisory lock
        return AdvisoryLockLiveness(
            db.url.set(drivername="postgresql").render_as_string(hide_password=False))
    # engines of this state directory lock a file each: a restart sees a crashed one is gone
    return LockFileLiveness(Path(args.state_dir) / "engines")


def _build(args: argparse.Namespace, token: str):
    """Store, app and background work for one process (each gunicorn worker makes its own)."""
    from metadata_server.app import create_app
    from metadata_server.background import Background
    from metadata_server.engine.limits import from_options
    from metadata_server.service.credentials import token_hash
    from metadata_server.store import open_store
    from metadata_server.store.database import sqlite_url

    store = open_store(args.db or sqlite_url(args.state_dir))
    # the agent's wheels for booting servers: served at /wheelhouse/, pinned in user_data
    from metadata_server.boot import wheelhouse, wheelhouse_cli
    wheelhouse.use(wheelhouse.Wheelhouse(Path(args.state_dir) / wheelhouse_cli.WHEELHOUSE_DIR,
                                         wheelhouse.Sources.from_env(os.environ)))
    app = create_app(store, token_hash(token), public_url=args.public_url,
                     deployment_timeout=args.deployment_timeout, poll_interval=args.poll_interval,
                     limits=from_options(args), stack_abandon=getattr(args, "stack_abandon", True),
                     stack_adopt=getattr(args, "stack_adopt", False))
    background = Background(app.extensions["stoker"])
    background.companions.append(server_event_sinks.event_delivery(args, app.extensions["stoker"]))
    server_metrics.wire(args, app, background)
    return app, background


def run(args: argparse.Namespace) -> int:
    import logging

    logging.basicConfig(level=args.log_level.upper(), stream=sys.stderr,
                        format="%(asctime)s stoker-server %(levelname)s %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    host, port = _parse_bind(args.bind)
    _require_public_url(args)
    state_dir = _secure_state(args)
    token, generated = admin_token(state_dir)
    try:
        # migrations run once here, before any worker starts
        app, background = _build(args, token)
    except Exception as exc:  # a bad URL or unreachable database: one line, no traceback
        print(f"stoker server: cannot start: {exc.__class__.__name__}: "
              f"{str(exc).splitlines()[0] if str(exc) else ''}", file=sys.stderr)
        return 1
    if generated:
        print(f"admin token (shown once, kept in {state_dir / ADMIN_TOKEN_FILE}): {token}",
              flush=True)
    if args.workers > 0:
        from metadata_server.gunicorn_app import serve

        def build_worker():
            worker_app, worker_background = _build(args, token)
            _start_engine(worker_app, args, f"http://{host}:{port}")
            return worker_app, worker_background
        return serve(args, host, port, build_worker)
    return _serve_embedded(app, background, host, port, args)


def _serve_embedded(app, background, host: str, port: int, args: argparse.Namespace) -> int:
    import logging

    from werkzeug.serving import WSGIRequestHandler, make_server

    class QuietHandler(WSGIRequestHandler):
        # a thread per connection here: a connection silent for this long lets its thread go.
        # Not shorter than gunicorn's keep-alive, so an agent polling every 30 s on a kept-alive
        # connection does not race the server closing it.
        timeout = max(args.client_timeout, KEEPALIVE_SECONDS)

        def log_error(self, format, *args):
            if format.startswith("Request timed out"):  # an idle or silent client: routine
                logging.getLogger("stoker.http").debug("%s: connection timed out",
                                                       self.address_string())
                return
            super().log_error(format, *args)

        # signal URLs carry their signature in the query: log the path only
        def log_request(self, code="-", size="-"):
            path = self.path.split("?", 1)[0]
            logging.getLogger("stoker.http").info('%s "%s %s" %s', self.address_string(),
                                                  self.command, path, code)

    server = make_server(host, port, app, threaded=True, request_handler=QuietHandler)
    # thousands of agents reconnect at once after a restart: a deep accept queue, not resets
    server.socket.listen(4096)
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    background.start()
    try:
        _start_engine(app, args, f"http://{host}:{server.server_port}")
    except Exception as exc:  # e.g. no clouds.yaml entry: one line, no traceback
        print(f"stoker server: cannot start the engine's {args.cloud_driver} cloud driver: "
              f"{exc.__class__.__name__}: {exc}", file=sys.stderr)
        background.stop()
        server.server_close()
        return 1
    print(f"stoker server listening on http://{host}:{server.server_port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        from metadata_server.api.app_engine import release_engine
        release_engine(app)
        background.stop()
        server.server_close()
    return 0
