"""`stoker software config ...` and `stoker software deployment ...` (openstack client's flags).

Deployment create differs from the openstack client in one way: instead of deriving the config
on the client (and signing a Swift temp URL), it sends `signal_transport` and lets the server
derive it (docs/protocol.md §3), so the signal URL is the server's own signed one.
"""
from __future__ import annotations

import sys
import time

import yaml

from cli.operator.client import Client, q
from cli.operator.common import connection_parent, key_values, leaf, nested, read_text
from cli.operator.errors import (CONFLICT, NOT_FOUND, USAGE, WAIT_FAILED, WAIT_TIMEOUT,
                                 CliError)
from cli.operator.output import format_data, format_record, format_text, show_listing, show_record

CONFIG_COLUMNS = ["id", "name", "group", "creation_time"]
DEPLOYMENT_COLUMNS = ["id", "config_id", "server_id", "action", "status"]
DEPLOYMENT_LONG = DEPLOYMENT_COLUMNS + ["server_name", "creation_time", "status_reason"]
TRANSPORTS = ("TEMP_URL_SIGNAL", "CFN_SIGNAL", "NO_SIGNAL")
DEFINITION_KEYS = ("inputs", "outputs", "options")
# inputs the server adds when it derives a config: their presence marks a config as derived
DERIVED_MARKER = "deploy_server_id"


# -- software config -------------------------------------------------------------------------

def definition(path: str) -> dict:
    """`--definition-file`: a YAML mapping with any of inputs, outputs, options."""
    text = read_text(path, "--definition-file")
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        raise CliError(f"--definition-file {path}{line}: not valid YAML", USAGE)
    if not isinstance(data, dict):
        raise CliError(f"--definition-file {path}: must be a mapping with inputs, outputs, "
                       "options", USAGE)
    unknown = sorted(set(data) - set(DEFINITION_KEYS))
    if unknown:
        raise CliError(f"--definition-file {path}: unknown key {unknown[0]!r}; allowed: "
                       f"{', '.join(DEFINITION_KEYS)}", USAGE)
    for key, kind in (("inputs", list), ("outputs", list), ("options", dict)):
        if key in data and data[key] is not None and not isinstance(data[key], kind):
            raise CliError(f"--definition-file {path}: {key} must be a "
                           f"{'list' if kind is list else 'mapping'}", USAGE)
    return {k: v for k, v in data.items() if v is not None}


def config_create(args, client: Client):
    body = {"name": args.name, "group": args.group,
            "config": read_text(args.config_file, "--config-file") if args.config_file else ""}
    if args.definition_file:
        body.update(definition(args.definition_file))
    config = client.post("software_configs", body)["software_config"]
    return show_record(config, args)


def config_list(args, client: Client):
    params = {k: v for k, v in (("limit", args.limit), ("marker", args.marker)) if v}
    rows = client.get("software_configs", params=params)["software_configs"]
    return show_listing(rows, CONFIG_COLUMNS, args)


def config_show(args, client: Client):
    config = client.get(f"software_configs/{q(args.id)}",
                        what=f"software config {args.id}")["software_config"]
    if args.config_only:
        return format_text(config.get("config") or "", args.format)
    return show_record(config, args)


def _delete_each(ids, delete_one) -> int:
    """Delete every id; report each failure on its own line; exit with the first failure's code."""
    import sys
    first = 0
    for ident in ids:
        try:
            delete_one(ident)
        except CliError as exc:
            print(f"stoker: error: {exc.message}", file=sys.stderr)
            first = first or exc.code
    return first


def config_delete(args, client: Client):
    return _delete_each(args.id, lambda i: client.delete(
        f"software_configs/{q(i)}", what=f"software config {i}"))


# -- software deployment ---------------------------------------------------------------------

def _deployment(client: Client, ident: str) -> dict:
    return client.get(f"software_deployments/{q(ident)}",
                      what=f"software deployment {ident}")["software_deployment"]


def deployment_create(args, client: Client):
    inputs = key_values(args.input_value, "--input-value")
    if not args.allow_unregistered:
        _require_registered(client, args.server)
    config_id = args.config
    if not config_id:
        # as the openstack client: a deployment without --config runs an empty config
        config_id = client.post("software_configs", {
            "name": args.name, "group": "Heat::Ungrouped", "config": ""})["software_config"]["id"]
    body = {"config_id": config_id, "server_id": args.server, "name": args.name,
            "action": args.action, "signal_transport": args.signal_transport,
            "input_values": inputs}
    if args.timeout is not None:
        if args.timeout <= 0:
            raise CliError(f"--timeout {args.timeout}: must be a positive number of minutes", USAGE)
        body["timeout"] = args.timeout * 60
    deployment = client.post("software_deployments", body)["software_deployment"]
    if args.wait:
        deployment = wait_for_deployment(client, deployment, args.poll, args.wait_timeout)
    return show_record(deployment, args)


def _require_registered(client: Client, server: str) -> None:
    """Refuse a deployment no agent of stoker's can ever fetch (an unknown id, or a name)."""
    from cli.operator.servers import find_server
    try:
        found = find_server(client, server)
    except CliError as exc:
        if exc.code != NOT_FOUND:
            raise
        raise CliError(f"--server {server}: not registered with stoker, so no agent would "
                       "fetch the deployment and it would wait until its timeout; register it "
                       "(`stoker server register NAME`) and pass its id, "
                       "or pass --allow-unregistered for a server that reads Heat's metadata "
                       "some other way", NOT_FOUND)
    if found["id"] != server:
        raise CliError(f"--server {server}: that is a server's name; deployments name the "
                       f"server by id: --server {found['id']}", USAGE)


def wait_for_deployment(client: Client, deployment: dict, poll: float, timeout: float,
                        stream=None, sleep=time.sleep, monotonic=time.monotonic) -> dict:
    """Until the agent's signal settles it: phases as reported go to stderr; FAILED exits 7,
    a timeout 8, both pointing at `stoker deployment explain`."""
    stream = stream or sys.stderr
    ident, deadline, last = deployment["id"], monotonic() + timeout, None
    while True:
        shown = (deployment.get("status"), deployment.get("phase"))
        if shown != last:
            phase = f" (phase {shown[1]})" if shown[1] else ""
            print(f"deployment {ident}: {shown[0]}{phase}", file=stream, flush=True)
            last = shown
        if deployment.get("status") == "FAILED":
            from cli.operator.diagnosis import stderr_tail
            tail = stderr_tail(deployment)
            if tail:
                print(f"deployment {ident} stderr (last {len(tail)} lines):", file=stream)
                print("\n".join(f"  {line}" for line in tail), file=stream, flush=True)
            raise CliError(f"deployment {ident} FAILED: {deployment.get('status_reason')}; "
                           f"see `stoker deployment explain {ident}`", WAIT_FAILED)
        if deployment.get("status") != "IN_PROGRESS":
            return deployment
        if monotonic() >= deadline:
            raise CliError(f"deployment {ident} is still IN_PROGRESS after {timeout:g} s; "
                           f"see `stoker deployment explain {ident}`", WAIT_TIMEOUT)
        sleep(poll)
        deployment = _deployment(client, ident)


def deployment_list(args, client: Client):
    params = {"server_id": args.server} if args.server else None
    rows = [_settled(r) for r in
            client.get("software_deployments", params=params)["software_deployments"]]
    if args.long:
        # whether stoker knows the server: a deployment to an unregistered one waits for an
        # agent that will never come
        names = {s["id"]: s.get("name") or "" for s in client.get("servers")["servers"]}
        rows = [dict(r, server_name=names.get(r.get("server_id"), "(not registered)"))
                for r in rows]
    return show_listing(rows, DEPLOYMENT_LONG if args.long else DEPLOYMENT_COLUMNS, args)


def _settled(deployment: dict) -> dict:
    """The agent's last phase means something only while the deployment runs; once it is
    COMPLETE or FAILED, a leftover `running` would say otherwise."""
    if deployment.get("status") != "IN_PROGRESS" and "phase" in deployment:
        return {k: v for k, v in deployment.items() if k != "phase"}
    return deployment


def deployment_show(args, client: Client):
    deployment = _settled(_deployment(client, args.id))
    if args.long:
        config = client.get(f"software_configs/{q(deployment['config_id'])}",
                            what=f"software config {deployment['config_id']}")
        deployment = dict(deployment, config=config["software_config"])
    return show_record(deployment, args)


def deployment_delete(args, client: Client):
    def delete_one(ident):
        deployment = _deployment(client, ident)
        client.delete(f"software_deployments/{q(ident)}", what=f"software deployment {ident}")
        # the derived config belongs to this deployment alone (as with the openstack client,
        # which deletes the config it derived); a user's own config is left alone
        try:
            config = client.get(f"software_configs/{q(deployment['config_id'])}")
            names = {i.get("name") for i in config["software_config"].get("inputs") or []}
            if DERIVED_MARKER in names:
                client.delete(f"software_configs/{q(deployment['config_id'])}")
        except CliError as exc:
            if exc.code not in (NOT_FOUND, CONFLICT):
                raise
    return _delete_each(args.id, delete_one)


def output_show(args, client: Client):
    if bool(args.output) == bool(args.all):
        raise CliError("give one OUTPUT name or --all", USAGE)
    outputs = _deployment(client, args.id).get("output_values") or {}
    if args.all:
        shown = outputs if args.long else {k: v for k, v in outputs.items()
                                           if not k.startswith("deploy_")}
        return show_record(shown, args)
    if args.output not in outputs:
        known = ", ".join(sorted(outputs)) or "none yet"
        raise CliError(f"deployment {args.id} has no output {args.output!r} (outputs: {known})",
                       NOT_FOUND)
    value = outputs[args.output]
    if args.format in ("json", "yaml"):
        return show_record({args.output: value}, args)
    # every key alike: the value alone, as `--all -f value` prints each
    return format_record({args.output: value}, "value")


def metadata_show(args, client: Client):
    items = client.get(f"software_deployments/metadata/{q(args.server)}",
                       what=f"server {args.server}")["metadata"]
    if args.format in ("json", "yaml") and not args.columns:
        # the whole items, as the agent sees them
        return format_data(items, args.format, args.noindent)
    return show_listing(items, ["id", "name", "group", "creation_time"], args)


# -- wiring ----------------------------------------------------------------------------------

def register(subparsers, name: str, help_text: str) -> None:
    parent = connection_parent()
    top = subparsers.add_parser(name, help=help_text, description=help_text)
    kinds = nested(top, "software_kind")

    config = kinds.add_parser("config", help="software configs")
    cs = nested(config, "config_command")
    p = leaf(cs, "create", "create a software config", config_create, parent)
    p.add_argument("name")
    p.add_argument("--config-file", metavar="FILE", help="the config itself (script, manifest...)")
    p.add_argument("--definition-file", metavar="FILE",
                   help="YAML with inputs, outputs and options")
    p.add_argument("--group", default="Heat::Ungrouped",
                   help="hook that runs it: script, ansible, puppet... (default Heat::Ungrouped)")
    p = leaf(cs, "list", "list software configs, newest first", config_list, parent)
    p.add_argument("--limit", type=int)
    p.add_argument("--marker", metavar="ID")
    p = leaf(cs, "show", "show one software config", config_show, parent)
    p.add_argument("id")
    p.add_argument("--config-only", action="store_true", help="print only the config text")
    p = leaf(cs, "delete", "delete software configs", config_delete, parent)
    p.add_argument("id", nargs="+")

    deployment = kinds.add_parser("deployment", help="software deployments")
    ds = nested(deployment, "deployment_command")
    p = leaf(ds, "create", "deploy a config to a server (the server derives the config)",
             deployment_create, parent)
    p.add_argument("name")
    p.add_argument("--server", required=True, metavar="ID")
    p.add_argument("--allow-unregistered", action="store_true",
                   help="deploy to a server id stoker has no registration for (as Heat allows)")
    p.add_argument("--config", metavar="ID", help="source config (default: an empty one)")
    p.add_argument("--input-value", action="append", metavar="KEY=VALUE")
    p.add_argument("--action", default="UPDATE", help="deploy_action (default UPDATE)")
    p.add_argument("--signal-transport", default="TEMP_URL_SIGNAL", choices=TRANSPORTS)
    p.add_argument("--timeout", type=int, metavar="MINUTES",
                   help="fail the deployment when no signal came within this time")
    p.add_argument("--wait", action="store_true",
                   help="wait until the agent's signal completes or fails the deployment")
    p.add_argument("--poll", type=float, default=1.0, metavar="SECONDS",
                   help="with --wait, seconds between polls (default 1)")
    p.add_argument("--wait-timeout", type=float, default=3600, metavar="SECONDS",
                   help="with --wait, give up after this long (exit 8; default 3600)")
    p = leaf(ds, "list", "list software deployments, oldest first", deployment_list, parent)
    p.add_argument("--server", metavar="ID")
    p.add_argument("--long", action="store_true")
    p = leaf(ds, "show", "show one software deployment", deployment_show, parent)
    p.add_argument("id")
    p.add_argument("--long", action="store_true", help="include the (derived) config")
    p = leaf(ds, "delete", "delete software deployments and their derived configs",
             deployment_delete, parent)
    p.add_argument("id", nargs="+")
    out = ds.add_parser("output", help="a deployment's outputs")
    os_ = nested(out, "output_command")
    p = leaf(os_, "show", "show one output, or all with --all", output_show, parent)
    p.add_argument("id")
    p.add_argument("output", nargs="?")
    p.add_argument("--all", action="store_true")
    p.add_argument("--long", action="store_true", help="with --all, include deploy_* outputs")
    meta = ds.add_parser("metadata", help="what a server's agent receives")
    ms = nested(meta, "metadata_command")
    p = leaf(ms, "show", "the deployments a server's agent receives", metadata_show, parent)
    p.add_argument("server", metavar="SERVER_ID")
