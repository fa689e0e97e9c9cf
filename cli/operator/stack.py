"""`stoker stack ...`: create/update/delete/list/show, outputs, resources, events, preview.

Flags follow `openstack stack ...`. Local files are gathered into the request's `files` map
(files_map.py). A stack named on the command line is looked up once (`GET /stacks/{name}`, which
Heat redirects to `/stacks/{name}/{id}`) and then addressed by its canonical path, so update and
delete never go through a redirect (which would turn them into GETs).
"""
from __future__ import annotations

import json

from cli.operator.client import Client, q
from cli.operator.common import (connection_parent, key_values, leaf, nested, read_text)
from cli.operator.errors import USAGE, CliError
from cli.operator.files_map import stack_request_parts
from cli.operator.output import (Options, format_data, format_listing, format_record,
                                 show_listing, show_record)
from cli.operator.progress import event_ids, wait_for_stack
from cli.operator.sources import Sources
from cli.operator.template_checks import StrictRefusal, send, warn

STACK_COLUMNS = ["id", "stack_name", "stack_status", "creation_time", "updated_time"]
SHOW_FIELDS = ["id", "stack_name", "description", "creation_time", "updated_time",
               "stack_status", "stack_status_reason"]
RESOURCE_COLUMNS = ["resource_name", "physical_resource_id", "resource_type", "resource_status",
                    "updated_time"]
EVENT_COLUMNS = ["id", "resource_name", "resource_status", "resource_status_reason", "event_time"]
OUTPUT_COLUMNS = ["output_key", "description"]


def stack_path(client: Client, ident: str) -> tuple[str, dict]:
    stack = client.get(f"stacks/{q(ident)}", what=f"stack {ident}")["stack"]
    return f"stacks/{q(stack['stack_name'])}/{q(stack['id'])}", stack


def parameters(args) -> dict:
    values = key_values(getattr(args, "parameter", None), "--parameter")
    for key, path in key_values(getattr(args, "parameter_file", None),
                                "--parameter-file").items():
        values[key] = read_text(path, f"--parameter-file {key}=")
    return values


def request_body(args, template_required: bool = True) -> tuple[dict, Sources]:
    """The request body, and where its documents came from (to place the server's errors)."""
    if template_required and not args.template:
        raise CliError("-t/--template is required", USAGE)
    sources = Sources()
    body = stack_request_parts(args.template, args.environment, sources=sources)
    params = parameters(args)
    if params:
        body["parameters"] = params
    if getattr(args, "timeout", None) is not None:
        body["timeout_mins"] = args.timeout
    if getattr(args, "tags", None):
        body["tags"] = [t for t in args.tags.split(",") if t]
    return body, sources


def checked(client: Client, args, body: dict, sources: Sources, partial: bool = False) -> None:
    """The engine's warnings on stderr (errors with --strict) before a template is used.
    `partial` (update --existing): the body lacks the stored environment and parameters the
    server merges in, so a validate error here is left for the update itself to give."""
    if body.get("template") is None:
        return
    try:
        warn(client, sources, body, args.strict)
    except StrictRefusal:
        raise
    except CliError:
        if not partial:
            raise


def _shown(stack: dict, args) -> str:
    record = {k: stack.get(k) for k in SHOW_FIELDS} if args.format == "table" else stack
    return show_record(record, args)


def _finish(client, args, path, name, action, seen=None, sources: Sources | None = None) -> str:
    stack = wait_for_stack(client, path, name, action, seen=seen, poll=args.poll,
                           timeout=args.wait_timeout,
                           relocate=sources.relocate if sources is not None else str)
    if stack is None:
        return ""
    return _shown(stack, args)


def create(args, client: Client):
    body, sources = request_body(args)
    body.update(stack_name=args.name, disable_rollback=not args.enable_rollback)
    checked(client, args, body, sources)
    if args.dry_run:
        return _preview_result(send(client, sources, "POST", "stacks/preview", body)["stack"],
                               args)
    created = send(client, sources, "POST", "stacks", body)["stack"]
    path = f"stacks/{q(args.name)}/{q(created['id'])}"
    if args.wait:
        return _finish(client, args, path, args.name, "CREATE", sources=sources)
    return _shown(client.get(path)["stack"], args)


def preview(args, client: Client):
    body, sources = request_body(args)
    body.update(stack_name=args.name, disable_rollback=not args.enable_rollback)
    checked(client, args, body, sources)
    return _preview_result(send(client, sources, "POST", "stacks/preview", body)["stack"], args)


PREVIEW_COLUMNS = ["resource_name", "resource_type", "required_by"]


def _preview_result(stack: dict, args) -> str:
    """The preview's resources, honouring -f and -c like a listing; json/yaml without -c give
    the whole preview document, as the openstack client's --dry-run does."""
    if args.format in ("json", "yaml") and not args.columns:
        return format_data(stack, args.format, args.noindent)
    resources = list(_flatten(stack.get("resources") or []))
    columns = PREVIEW_COLUMNS + sorted({k for r in resources for k in r} - set(PREVIEW_COLUMNS))
    listing = format_listing(resources, columns if args.columns else PREVIEW_COLUMNS,
                             opts=Options.from_args(args))
    if args.format != "table" or args.columns:
        return listing
    head = format_record({k: stack.get(k) for k in ("stack_name", "description")
                          if k in stack}, "table")
    return head + "\n" + listing


def _flatten(items):
    for item in items:
        if isinstance(item, list):
            yield from _flatten(item)
        else:
            yield item


def update(args, client: Client):
    path, stack = stack_path(client, args.stack)
    body, sources = request_body(args, template_required=not args.existing)
    checked(client, args, body, sources, partial=args.existing)
    if args.clear_parameter:
        body["clear_parameters"] = args.clear_parameter
    if args.rollback != "keep":
        body["disable_rollback"] = args.rollback == "disabled"
    method = "PATCH" if args.existing else "PUT"
    if args.dry_run:
        changes = send(client, sources, method, f"{path}/preview", body)["resource_changes"]
        rows = [{"change": kind, "resource_name": r.get("resource_name"),
                 "resource_type": r.get("resource_type"), "why": _why(r)}
                for kind in ("added", "updated", "replaced", "deleted", "unchanged")
                for r in changes.get(kind, [])]
        if args.format in ("json", "yaml") and not args.columns:
            return format_data(changes, args.format, args.noindent)
        return show_listing(rows, ["change", "resource_name", "resource_type", "why"], args)
    seen = event_ids(client, path) if args.wait else None
    send(client, sources, method, path, body)
    if args.wait:
        return _finish(client, args, path, stack["stack_name"], "UPDATE", seen, sources)
    return _shown(client.get(path)["stack"], args)


def _why(change: dict) -> str:
    """The plan's reasons and its property changes, old and new side by side."""
    parts = [str(r) for r in change.get("reasons") or []]
    for key, values in sorted((change.get("changes") or {}).items()):
        parts.append(f"{key}: {json.dumps(values.get('old'))} -> {json.dumps(values.get('new'))}")
    return "; ".join(parts)


def delete(args, client: Client):
    import sys
    if not args.yes and sys.stdin.isatty():
        answer = input(f"Delete stack(s) {', '.join(args.stack)} [y/N]? ")
        if answer.strip().lower() not in ("y", "yes"):
            raise CliError("not deleted (answer y, or pass -y)", USAGE)
    first = 0
    for ident in args.stack:
        try:
            path, stack = stack_path(client, ident)
            seen = event_ids(client, path) if args.wait else None
            client.delete(path)
            if args.wait:
                wait_for_stack(client, path, stack["stack_name"], "DELETE", seen=seen,
                               poll=args.poll, timeout=args.wait_timeout)
        except CliError as exc:
            print(f"stoker: error: {exc.message}", file=sys.stderr)
            first = first or exc.code
    return first


def list_(args, client: Client):
    params = {k: v for k, v in (("limit", args.limit), ("marker", args.marker)) if v}
    params.update(key_values(args.property, "--property"))
    if args.sort:
        key, _, direction = args.sort.partition(":")
        params["sort_keys"] = key
        if direction:
            params["sort_dir"] = direction
    rows = client.get("stacks", params=params)["stacks"]
    return show_listing(rows, STACK_COLUMNS, args)


def show(args, client: Client):
    path, _ = stack_path(client, args.stack)
    params = {"resolve_outputs": "false"} if args.no_resolve_outputs else None
    return show_record(client.get(path, params=params)["stack"], args)


def output_list(args, client: Client):
    path, _ = stack_path(client, args.stack)
    return show_listing(client.get(f"{path}/outputs")["outputs"], OUTPUT_COLUMNS, args)


def output_show(args, client: Client):
    if bool(args.output) == bool(args.all):
        raise CliError("give one OUTPUT name or --all", USAGE)
    path, stack = stack_path(client, args.stack)
    if args.all:
        outputs = client.get(path)["stack"].get("outputs") or []
        return show_record({o["output_key"]: o.get("output_value") for o in outputs}, args)
    output = client.get(f"{path}/outputs/{q(args.output)}",
                        what=f"output {args.output} of stack {stack['stack_name']}")["output"]
    if "output_error" in output:
        raise CliError(f"output {args.output}: {output['output_error']}")
    return show_record(output, args)


def resource_list(args, client: Client):
    path, stack = stack_path(client, args.stack)
    params = dict(key_values(args.filter, "--filter"))
    if args.long:
        params["with_detail"] = "true"
    rows = client.get(f"{path}/resources", params=params)["resources"]
    if args.nested_depth:
        rows = [dict(r, stack_name=stack["stack_name"]) for r in rows]
        rows = _with_nested(client, rows, params, args.nested_depth)
    columns = RESOURCE_COLUMNS + (["stack_name"] if args.nested_depth else [])
    return show_listing(rows, columns, args)


def _with_nested(client: Client, rows: list[dict], params: dict, depth: int) -> list[dict]:
    """Each resource followed by the resources of its nested stack, `depth` levels down (as
    Heat's nested_depth; the server lists one stack, the CLI walks the tree)."""
    out = []
    for row in rows:
        out.append(row)
        if depth <= 0 or not _may_nest(row):
            continue
        try:
            child = client.get(f"stacks/{q(row['physical_resource_id'])}")["stack"]
        except CliError:
            continue   # not a stack after all
        inner = client.get(f"stacks/{q(child['stack_name'])}/{q(child['id'])}/resources",
                           params=params)["resources"]
        out.extend(_with_nested(client, [dict(r, stack_name=child["stack_name"]) for r in inner],
                                params, depth - 1))
    return out


def _may_nest(row: dict) -> bool:
    kind = row.get("resource_type") or ""
    return bool(row.get("physical_resource_id")) and (
        "://" in kind or kind.endswith((".yaml", ".template")) or "Group" in kind
        or kind in ("OS::Heat::Stack", "AWS::CloudFormation::Stack"))


def resource_show(args, client: Client):
    path, _ = stack_path(client, args.stack)
    params = {"with_attr": args.with_attr} if args.with_attr else None
    resource = client.get(f"{path}/resources/{q(args.resource)}", params=params,
                          what=f"resource {args.resource}")["resource"]
    return show_record(resource, args)


def event_list(args, client: Client):
    path, _ = stack_path(client, args.stack)
    where = f"{path}/resources/{q(args.resource)}/events" if args.resource else f"{path}/events"
    params = dict(key_values(args.filter, "--filter"))
    if args.limit:
        params["limit"] = args.limit
    if args.marker:
        params["marker"] = args.marker
    rows = client.get(where, params=params or None, what=f"resource {args.resource}")["events"]
    if args.format == "log":
        from cli.operator.progress import event_line
        return "\n".join(event_line(e) for e in rows)
    return show_listing(rows, EVENT_COLUMNS, args)


# -- wiring ----------------------------------------------------------------------------------

def template_args(p, required=False):
    p.add_argument("-t", "--template", metavar="FILE|URL", required=required,
                   help="HOT template; get_file and template-type paths are uploaded with it")
    p.add_argument("-e", "--environment", action="append", metavar="FILE|URL",
                   help="environment file (repeatable, applied in order)")
    p.add_argument("--parameter", action="append", metavar="KEY=VALUE",
                   help="parameter value (repeatable; 'k1=v1;k2=v2' also accepted)")
    p.add_argument("--parameter-file", action="append", metavar="KEY=FILE",
                   help="parameter whose value is the content of FILE")
    p.add_argument("--strict", action="store_true",
                   help="treat the engine's warnings (e.g. a misspelt get_parm) as errors")


def wait_args(p):
    p.add_argument("--wait", action="store_true", help="follow the operation's events until it ends")
    p.add_argument("--poll", type=float, default=1.0, metavar="SECONDS",
                   help="with --wait, seconds between polls (default 1)")
    p.add_argument("--wait-timeout", type=float, default=3600, metavar="SECONDS",
                   help="with --wait, give up after this long (exit 8; default 3600)")


def register(subparsers, name: str, help_text: str) -> None:
    parent = connection_parent()
    top = subparsers.add_parser(name, help=help_text, description=help_text)
    sub = nested(top, "stack_command")

    p = leaf(sub, "create", "create a stack", create, parent)
    p.add_argument("name")
    template_args(p, required=True)
    p.add_argument("--timeout", type=int, metavar="MINUTES")
    p.add_argument("--enable-rollback", action="store_true")
    p.add_argument("--tags", metavar="A,B")
    p.add_argument("--dry-run", action="store_true", help="preview only; create nothing")
    wait_args(p)

    p = leaf(sub, "preview", "show what a create would do, creating nothing", preview, parent)
    p.add_argument("name")
    template_args(p, required=True)
    p.add_argument("--timeout", type=int, metavar="MINUTES")
    p.add_argument("--enable-rollback", action="store_true")
    p.add_argument("--tags", metavar="A,B")

    p = leaf(sub, "update", "update a stack", update, parent)
    p.add_argument("stack")
    template_args(p)
    p.add_argument("--timeout", type=int, metavar="MINUTES")
    p.add_argument("--tags", metavar="A,B")
    p.add_argument("--existing", action="store_true",
                   help="PATCH: keep the stored template/parameters not given here")
    p.add_argument("--clear-parameter", action="append", metavar="NAME")
    p.add_argument("--rollback", choices=("enabled", "disabled", "keep"), default="keep")
    p.add_argument("--dry-run", action="store_true", help="show the update plan only")
    wait_args(p)

    p = leaf(sub, "delete", "delete stacks", delete, parent)
    p.add_argument("stack", nargs="+")
    p.add_argument("-y", "--yes", action="store_true", help="do not ask")
    wait_args(p)

    p = leaf(sub, "list", "list stacks", list_, parent)
    p.add_argument("--limit", type=int)
    p.add_argument("--marker", metavar="ID")
    p.add_argument("--sort", metavar="KEY[:asc|desc]")
    p.add_argument("--property", action="append", metavar="KEY=VALUE", help="filter")

    p = leaf(sub, "show", "show a stack", show, parent)
    p.add_argument("stack")
    p.add_argument("--no-resolve-outputs", action="store_true")

    out = sub.add_parser("output", help="stack outputs")
    os_ = nested(out, "output_command")
    p = leaf(os_, "list", "list a stack's outputs", output_list, parent)
    p.add_argument("stack")
    p = leaf(os_, "show", "show one output, or all with --all", output_show, parent)
    p.add_argument("stack")
    p.add_argument("output", nargs="?")
    p.add_argument("--all", action="store_true")

    res = sub.add_parser("resource", help="stack resources")
    rs = nested(res, "resource_command")
    p = leaf(rs, "list", "list a stack's resources", resource_list, parent)
    p.add_argument("stack")
    p.add_argument("--long", action="store_true")
    p.add_argument("-n", "--nested-depth", type=int, default=0)
    p.add_argument("--filter", action="append", metavar="KEY=VALUE")
    p = leaf(rs, "show", "show one resource", resource_show, parent)
    p.add_argument("stack")
    p.add_argument("resource")
    p.add_argument("--with-attr", action="append", metavar="ATTRIBUTE")

    ev = sub.add_parser("event", help="stack events")
    es = nested(ev, "event_command")
    event_parent = connection_parent()   # its own copy: `-f log` is for event lists only
    for action in event_parent._actions:
        if action.dest == "format":
            action.choices = tuple(action.choices) + ("log",)
    p = leaf(es, "list", "list a stack's events (-f log for one line each)", event_list,
             event_parent)
    p.add_argument("stack")
    p.add_argument("--resource", metavar="NAME")
    p.add_argument("--filter", action="append", metavar="KEY=VALUE")
    p.add_argument("--limit", type=int)
    p.add_argument("--marker", metavar="ID")
