"""Why a stack operation failed or is still running, found by walking its resources.

`--wait` ends with a stack status; the operator needs the cause: the resource that failed first
and, when it is a software deployment, the tail of its hook's stderr; or, when the wait times
out, the deployment that everything waits on and the `stoker deployment explain` command to run.
Nested stacks (a provider template, a group) are followed to the resource inside them.
"""
from __future__ import annotations

from cli.operator.client import Client, q
from cli.operator.errors import CliError
from cli.operator.sources import display_path

STDERR_LINES = 10
MAX_DEPTH = 5        # nested stacks followed; a deeper tree still names the outer resource


def is_deployment(resource_type: str | None) -> bool:
    kind = resource_type or ""
    return kind.endswith(("SoftwareDeployment", "StructuredDeployment")) and "Group" not in kind


def deployment_details(client: Client, deployment_id: str) -> dict | None:
    if not deployment_id:
        return None
    try:
        return client.get(f"software_deployments/{q(deployment_id)}")["software_deployment"]
    except CliError:
        return None   # deleted by a rollback, or not a deployment after all


def stderr_tail(deployment: dict | None, lines: int = STDERR_LINES) -> list[str]:
    text = ((deployment or {}).get("output_values") or {}).get("deploy_stderr") or ""
    return str(text).rstrip("\n").splitlines()[-lines:] if str(text).strip() else []


def _resources(client: Client, stack_ref: str) -> list[dict]:
    try:
        return list(client.get(f"stacks/{q(stack_ref)}/resources").get("resources") or [])
    except (CliError, AttributeError):
        return []


def _nested(client: Client, resource: dict) -> str | None:
    """The nested stack's id when `resource` is a stack of its own (provider, group)."""
    physical = resource.get("physical_resource_id")
    if not physical or is_deployment(resource.get("resource_type")):
        return None
    try:
        client.get(f"stacks/{q(physical)}")
    except CliError:
        return None
    return physical


Found = tuple[list[str], dict]   # (path of resource names down nested stacks, the resource)


def failed_resource(client: Client, stack_ref: str, depth: int = 0) -> Found | None:
    """(path of resource names, resource) of the innermost FAILED resource, or None."""
    failed = [r for r in _resources(client, stack_ref)
              if str(r.get("resource_status", "")).endswith("_FAILED")]
    if not failed:
        return None
    failed.sort(key=lambda r: r.get("updated_time") or "")
    first = failed[0]
    inner = _nested(client, first) if depth < MAX_DEPTH else None
    if inner:
        found = failed_resource(client, inner, depth + 1)
        if found:
            return [first["resource_name"]] + found[0], found[1]
    return [first["resource_name"]], first


def waiting_deployments(client: Client, stack_ref: str, depth: int = 0) -> list[Found]:
    """(path of resource names, resource) of each deployment still IN_PROGRESS."""
    found = []
    for resource in _resources(client, stack_ref):
        if not str(resource.get("resource_status", "")).endswith("_IN_PROGRESS"):
            continue
        name = resource.get("resource_name")
        if is_deployment(resource.get("resource_type")) and resource.get("physical_resource_id"):
            found.append(([name], resource))
            continue
        inner = _nested(client, resource) if depth < MAX_DEPTH else None
        if inner:
            found.extend(([name] + path, r) for path, r in waiting_deployments(client, inner,
                                                                               depth + 1))
    return found


def failure_lines(client: Client, stack_ref: str, first_event: dict | None,
                  captured: dict[str, dict]) -> list[str]:
    """What to print under a failed (or rolled back) operation: the first failure's resource and
    reason, and its deployment's stderr tail. `first_event` is the first resource FAILED event
    the wait saw; `captured` holds deployments fetched as soon as they failed (a rollback may
    delete them before the wait ends)."""
    lines: list[str] = []
    found = failed_resource(client, stack_ref)
    if found is not None:
        path, resource = found
        lines.append(f"failed resource {'/'.join(path)} ({_kind(resource)}): "
                     f"{resource.get('resource_status_reason') or 'no reason given'}")
        deployment_id = resource.get("physical_resource_id") \
            if is_deployment(resource.get("resource_type")) else None
    elif first_event is not None:
        lines.append(f"failed resource {first_event.get('resource_name')} "
                     f"({_kind(first_event)}): "
                     f"{first_event.get('resource_status_reason') or 'no reason given'}")
        deployment_id = first_event.get("physical_resource_id") \
            if is_deployment(first_event.get("resource_type")) else None
    else:
        return lines
    if deployment_id:
        live = deployment_details(client, deployment_id)
        tail = stderr_tail(live or captured.get(deployment_id))
        if tail:
            lines.append(f"deployment {deployment_id} stderr (last {len(tail)} lines):")
            lines.extend(f"  {line}" for line in tail)
        if live is not None:
            lines.append(f"see `stoker deployment explain {deployment_id}`")
        elif not tail:
            lines.append(f"deployment {deployment_id} is gone with its output (a rollback "
                         "deletes it); create without --enable-rollback to keep it for reading")
    return lines


def _kind(item: dict) -> str:
    """A resource's type; a provider template's as the operator's path, not a file:// URL."""
    return display_path(item.get("resource_type") or "")


def blocker_hint(client: Client, stack_ref: str) -> str:
    """What the operation waits on, for a --wait-timeout message ('' when nothing is known)."""
    waiting = waiting_deployments(client, stack_ref)
    if not waiting:
        return ""
    path, resource = waiting[0]
    deployment_id = resource["physical_resource_id"]
    more = f" (and {len(waiting) - 1} more deployment(s))" if len(waiting) > 1 else ""
    return (f"resource {'/'.join(path)} waits on deployment {deployment_id}{more}; run "
            f"`stoker deployment explain {deployment_id}`")
