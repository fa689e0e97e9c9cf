"""`stoker server register|list|show|rotate|delete`: the servers whose agents poll stoker.

These live under `stoker server` beside running the server itself (`stoker server [options]`,
metadata_server/cli.py) and `stoker server rotate-key` (the signing key): a word after `server`
that is one of these actions runs it against the HTTP API; anything else runs the server.

`register` and `rotate` are the only moments a server's credential is shown (the store keeps a
hash), so they print the agent's config or write it, and the cloud-init user_data that installs
the agent, to files made 0600 before anything is written in them.
"""
from __future__ import annotations

import os
import sys
from datetime import datetime, timezone
from urllib.parse import urlsplit

from cli.operator.client import Client, q
from cli.operator.common import connection_parent, leaf, read_text
from cli.operator.errors import NOT_FOUND, USAGE, CliError
from cli.operator.output import show_listing, show_record
from metadata_server.service.deployment_explain import parse_time, when

SERVER_COLUMNS = ["id", "name", "last_seen", "phase", "deployments"]


# -- looking servers up ----------------------------------------------------------------------

def find_server(client: Client, ident: str) -> dict:
    """A registered server by id or by name (a name two servers share is refused)."""
    try:
        return client.get(f"servers/{q(ident)}")["server"]
    except CliError as exc:
        if exc.code != NOT_FOUND:
            raise
    named = [s for s in client.get("servers")["servers"] if s.get("name") == ident]
    if len(named) == 1:
        # by id again: a single server's record carries a last-seen the list may not have yet
        return client.get(f"servers/{q(named[0]['id'])}")["server"]
    if named:
        raise CliError(f"{len(named)} servers are named {ident!r} "
                       f"({', '.join(s['id'] for s in named)}); give the id", USAGE)
    raise CliError(f"server {ident} is not registered with stoker; `stoker server list` shows "
                   "the registered ones", NOT_FOUND)


def _deployments(client: Client, server_id: str | None = None) -> list[dict]:
    params = {"server_id": server_id} if server_id else None
    return client.get("software_deployments", params=params)["software_deployments"]


def _summary(server: dict, deployments: list[dict], now: datetime) -> dict:
    mine = [d for d in deployments if d.get("server_id") == server["id"]]
    counts: dict[str, int] = {}
    for deployment in mine:
        counts[deployment.get("status") or "?"] = counts.get(deployment.get("status") or "?", 0) + 1
    running = [d for d in mine if d.get("status") == "IN_PROGRESS"]
    phase = ", ".join(sorted({d.get("phase") or "waiting for the agent" for d in running}))
    return {"id": server["id"], "name": server.get("name"),
            "last_seen": when(parse_time(server.get("last_seen_time")), now, "never"),
            "phase": phase or "idle",
            "deployments": ", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "none",
            "creation_time": server.get("creation_time"),
            "last_seen_time": server.get("last_seen_time")}


def list_(args, client: Client):
    now = datetime.now(timezone.utc)
    deployments = _deployments(client)
    rows = [_summary(s, deployments, now) for s in client.get("servers")["servers"]]
    return show_listing(rows, SERVER_COLUMNS, args)


def show(args, client: Client):
    server = find_server(client, args.server)
    deployments = _deployments(client, server["id"])
    record = _summary(server, deployments, datetime.now(timezone.utc))
    record["in_progress"] = [{"id": d["id"], "phase": d.get("phase")}
                             for d in deployments if d.get("status") == "IN_PROGRESS"]
    return show_record(record, args)


def delete(args, client: Client):
    if not args.yes and sys.stdin.isatty():
        answer = input(f"Delete server registration(s) {', '.join(args.server)} [y/N]? ")
        if answer.strip().lower() not in ("y", "yes"):
            raise CliError("not deleted (answer y, or pass -y)", USAGE)
    first = 0
    for ident in args.server:
        try:
            server = find_server(client, ident)
            client.delete(f"servers/{q(server['id'])}", what=f"server {ident}")
        except CliError as exc:
            print(f"stoker: error: {exc.message}", file=sys.stderr)
            first = first or exc.code
    return first


# -- credentials: register and rotate --------------------------------------------------------

def register(args, client: Client):
    source = _agent_source(args, client)     # before registering: a refusal leaves nothing
    issued = client.post("servers", {"name": args.name})
    return _hand_out(args, issued["server"], issued, source)


def rotate(args, client: Client):
    server = find_server(client, args.server)
    source = _agent_source(args, client)
    issued = client.post(f"servers/{q(server['id'])}/credentials", {})
    return _hand_out(args, server, issued, source)


def _hand_out(args, server: dict, issued: dict, source):
    from metadata_server.boot.userdata import AgentSettings, agent_config_text
    agent = issued["agent_config"]
    settings = AgentSettings.from_agent_config(agent, polling_interval=args.polling_interval,
                                               metrics_interval=args.agent_metrics)
    config = agent_config_text(settings)
    written = []
    if args.user_data:
        text = _user_data(args, settings, source(args.public_url or _origin(agent["metadata_url"])))
        written.append(("user_data", write_private(args.user_data, text)))
    if args.config_file:
        written.append(("agent_config", write_private(args.config_file, config)))
    if args.format in ("json", "yaml"):
        return show_record(dict(issued, server=server), args)
    if not written:
        return config.rstrip("\n")     # the agent's /etc/os-collect-config.conf, to redirect
    record = {"id": server["id"], "name": server.get("name"),
              "metadata_url": agent["metadata_url"]}
    record.update({f"{kind}_file": path for kind, path in written})
    return show_record(record, args)


def write_private(path: str, text: str) -> str:
    """`text` into `path`, mode 0600 from the start (it holds the server's token)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            os.fchmod(handle.fileno(), 0o600)   # an existing file keeps its old mode otherwise
            handle.write(text)
    except OSError as exc:
        raise CliError(f"cannot write {path} ({exc.strerror}); the server is registered: run "
                       "`stoker server rotate` for a new credential", USAGE)
    return path


def _agent_source(args, client: Client):
    """base URL -> AgentInstall, for --user-data (None without it). The server's wheelhouse
    install facts are read now, so a missing wheelhouse refuses the command before anything
    is registered."""
    from metadata_server.boot.bootstrap import AgentInstall, WheelhouseInstall
    from metadata_server.boot.units import DEFAULT_VENV
    if not args.user_data:
        return None
    venv = args.agent_venv or DEFAULT_VENV
    if args.agent_index_url or args.agent_find_links or args.agent_no_index:
        install = AgentInstall(package=args.agent_package, index_url=args.agent_index_url,
                               find_links=tuple(args.agent_find_links or ()),
                               no_index=args.agent_no_index, venv=venv)
        _checked(install.check)
        return lambda base: install
    try:
        manifest = client.get(f"{client.settings.url}/wheelhouse/install.json",
                              what="the server's agent wheelhouse")
    except CliError as exc:
        if exc.code == NOT_FOUND:
            raise CliError(f"--user-data: {exc.message}; gather it with `stoker wheelhouse` "
                           "on the server, or install from an index with --agent-index-url",
                           exc.code)
        raise
    return lambda base: AgentInstall(
        venv=venv, wheelhouse=_checked(lambda: WheelhouseInstall.from_manifest(base, manifest)))


def _checked(make):
    from metadata_server.boot.bootstrap import BootConfigError
    try:
        return make()
    except (BootConfigError, KeyError, TypeError) as exc:
        raise CliError(f"--user-data: {exc}", USAGE)


def _user_data(args, settings, install) -> str:
    from metadata_server.boot.userdata import user_data
    own = read_text(args.append_user_data, "--append-user-data") \
        if args.append_user_data else None
    return _checked(lambda: user_data(settings, install, user_data=own))


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


# -- wiring ----------------------------------------------------------------------------------

ACTIONS = ("register", "list", "show", "rotate", "delete")
METRICS_INTERVAL = 60.0


def _metrics_interval(text: str) -> float:
    import argparse
    import math
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0 < value < math.inf:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds above 0")
    return value


def _hand_out_args(p) -> None:
    p.add_argument("--config-file", metavar="PATH",
                   help="write the agent's config (/etc/os-collect-config.conf) here, mode 0600")
    p.add_argument("--user-data", metavar="PATH",
                   help="write cloud-init user_data that installs and starts the agent (0600)")
    p.add_argument("--append-user-data", metavar="FILE",
                   help="with --user-data: your own user_data, kept first (cloud-config, "
                   "script or MIME)")
    p.add_argument("--polling-interval", type=float, default=30, metavar="SECONDS",
                   help="the agent's polling interval (default %(default)g)")
    p.add_argument("--agent-metrics", nargs="?", type=_metrics_interval, const=METRICS_INTERVAL,
                   metavar="INTERVAL",
                   help="turn the agent's metrics on (for alarms stoker evaluates): a sample every "
                   f"INTERVAL seconds (default {METRICS_INTERVAL:g}), each sent as taken; written "
                   "into the agent's config ([agent] metrics = on)")
    p.add_argument("--public-url", metavar="URL",
                   help="with --user-data: the server's URL as the new server reaches it "
                   "(default: that of its metadata URL)")
    src = p.add_argument_group("agent install (with --user-data; default: the server's own "
                               "wheelhouse, every file pinned by sha256)")
    src.add_argument("--agent-index-url", metavar="URL", help="install from this package index")
    src.add_argument("--agent-find-links", action="append", metavar="LOCATION",
                     help="extra find-links location (repeatable)")
    src.add_argument("--agent-no-index", action="store_true",
                     help="with --agent-find-links: use no index at all")
    src.add_argument("--agent-package", default="stoker", metavar="SPEC",
                     help="the pip requirement to install (default %(default)s)")
    src.add_argument("--agent-venv", metavar="DIR", help="the agent's venv (default "
                     "/opt/stoker/venv)")


def register_actions(actions) -> None:
    """Add the operator actions to `stoker server`'s ACTION subparsers."""
    parent = connection_parent()
    p = leaf(actions, "register", "register a server: print or write its agent config and "
             "cloud-init user_data", register, parent)
    p.add_argument("name")
    _hand_out_args(p)
    leaf(actions, "list", "registered servers: last seen, phase, deployment counts", list_,
         parent)
    p = leaf(actions, "show", "one registered server (id or name)", show, parent)
    p.add_argument("server", metavar="SERVER")
    p = leaf(actions, "rotate", "issue a new credential for a server (the old one stops "
             "working); print or write the new config", rotate, parent)
    p.add_argument("server", metavar="SERVER")
    _hand_out_args(p)
    p = leaf(actions, "delete", "forget registered servers (their agents are refused after)",
             delete, parent)
    p.add_argument("server", nargs="+", metavar="SERVER")
    p.add_argument("-y", "--yes", action="store_true", help="do not ask")
