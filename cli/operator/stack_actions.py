"""`stoker stack suspend|resume|check|cancel`, `stoker resource type list|show` and `stoker
template version list`: the stack actions and registry reads of `openstack stack ...`.

Actions go to Heat's `POST .../actions` (`{"suspend": null}` and so on); with `--wait` they are
followed like create and update. Registry reads are Heat's GET routes; a server that does not
offer one (a stoker server older than these routes) is named as such, not as a missing stack.
"""
from __future__ import annotations

import sys

from cli.operator.client import Client, q
from cli.operator.common import connection_parent, leaf, nested
from cli.operator.errors import NOT_FOUND, USAGE, CliError
from cli.operator.output import show_listing, show_record
from cli.operator.progress import event_ids, wait_for_stack

# command -> (the API's action key, the stack action it runs)
ACTIONS = {"suspend": ("suspend", "SUSPEND"), "resume": ("resume", "RESUME"),
           "check": ("check", "CHECK")}


def _act(args, client: Client, key: str, action: str | None):
    from cli.operator.stack import SHOW_FIELDS, stack_path
    first = 0
    for ident in args.stack:
        try:
            path, stack = stack_path(client, ident)
            seen = event_ids(client, path) if args.wait else None
            client.post(f"{path}/actions", {key: None})
            if args.wait:
                wait_for_stack(client, path, stack["stack_name"],
                               action or stack["stack_status"].split("_", 1)[0], seen=seen,
                               poll=args.poll, timeout=args.wait_timeout,
                               cancelling=key.startswith("cancel"))
        except CliError as exc:
            print(f"stoker: error: {exc.message}", file=sys.stderr)
            first = first or exc.code
    if first or len(args.stack) != 1:
        return first
    shown = client.get(stack_path(client, args.stack[0])[0])["stack"]
    return show_record({k: shown.get(k) for k in SHOW_FIELDS}, args)


def _action_command(key: str, action: str):
    return lambda args, client: _act(args, client, key, action)


def cancel(args, client: Client):
    from cli.operator.stack import stack_path
    if not args.no_rollback:
        for ident in args.stack:
            status = stack_path(client, ident)[1].get("stack_status")
            if status == "CREATE_IN_PROGRESS":
                raise CliError(f"stack {ident} is {status}: a create can be cancelled only "
                               "without rollback (--no-rollback); delete the stack after", USAGE)
    return _act(args, client, "cancel_without_rollback" if args.no_rollback else "cancel_update",
                None)


def resource_type_list(args, client: Client):
    types = _registry(client, "resource_types", "resource types")["resource_types"]
    rows = [t if isinstance(t, dict) else {"resource_type": t} for t in types]
    if args.filter_name:
        rows = [r for r in rows if args.filter_name.lower() in r["resource_type"].lower()]
    return show_listing(rows, ["resource_type"], args)


def resource_type_show(args, client: Client):
    found = _registry(client, f"resource_types/{q(args.type)}", f"resource type {args.type}",
                      args.type)
    return show_record(found, args)


def template_version_list(args, client: Client):
    versions = _registry(client, "template_versions", "template versions")["template_versions"]
    return show_listing(versions, ["version", "type", "aliases"], args)


def _registry(client: Client, path: str, what: str, type_name: str | None = None) -> dict:
    try:
        return client.get(path)
    except CliError as exc:
        if exc.code != NOT_FOUND:
            raise
        listed = client.get("resource_types", what="the stack API")   # does it speak Heat?
        if type_name is not None and isinstance(listed, dict):
            names = [t if isinstance(t, str) else t.get("resource_type")
                     for t in listed.get("resource_types", [])]
            if type_name not in names:
                raise CliError(f"{what}: no such type on this server; `stoker resource type "
                               "list` shows them", NOT_FOUND)
        raise CliError(f"{what}: this stoker server does not offer GET /{path.split('/')[0]} "
                       "(Heat does); nothing is wrong with your request", NOT_FOUND)


def _wait_args(p) -> None:
    from cli.operator.stack import wait_args
    wait_args(p)


def register_actions(sub) -> None:
    """Under `stoker stack` (cli/main.py adds them): suspend, resume, check, cancel."""
    parent = connection_parent()
    for name, (key, action) in ACTIONS.items():
        p = leaf(sub, name, f"{name} stacks (Heat's {action})", _action_command(key, action),
                 parent)
        p.add_argument("stack", nargs="+")
        _wait_args(p)
    p = leaf(sub, "cancel", "cancel a create or update in progress (rolls back unless "
             "--no-rollback)", cancel, parent)
    p.add_argument("stack", nargs="+")
    p.add_argument("--no-rollback", action="store_true",
                   help="stop where it is, without rolling back")
    _wait_args(p)


def register(subparsers, name: str, help_text: str) -> None:
    """`stoker resource type list|show`."""
    parent = connection_parent()
    top = subparsers.add_parser(name, help=help_text, description=help_text)
    kinds = nested(top, "resource_kind")
    types = kinds.add_parser("type", help="resource types")
    ts = nested(types, "type_command")
    p = leaf(ts, "list", "the resource types this server knows", resource_type_list, parent)
    p.add_argument("--filter-name", metavar="TEXT", help="only types whose name contains TEXT")
    p = leaf(ts, "show", "one resource type's schema",
             resource_type_show, parent)
    p.add_argument("type")


def register_template_versions(sub, parent) -> None:
    """Under `stoker template`: version list."""
    versions = sub.add_parser("version", help="template versions")
    vs = nested(versions, "version_command")
    leaf(vs, "list", "the template versions this server accepts", template_version_list,
         parent)
