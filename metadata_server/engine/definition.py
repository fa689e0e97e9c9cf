"""A create/update request body -> the stack definition the engine stores, with Heat's rules.

Every field is checked with an error naming it. PATCH (`existing`) reuses the stored template
when none is given, merges parameters and environment sections over the old ones, honours
`clear_parameters`, and merges `files`.
"""
from __future__ import annotations

import re
from typing import Any

from metadata_server.service.errors import InvalidInput

MAX_TIMEOUT_MINS = 10 * 365 * 24 * 60  # a deadline still a date; beyond it, give none
NAME = re.compile(r"^[a-zA-Z][a-zA-Z0-9_.-]{0,254}$")


def _typed(body: dict, key: str, kinds, what: str) -> Any:
    value = body.get(key)
    if value is not None and not isinstance(value, kinds):
        raise InvalidInput(f"{key}: must be {what}, got {type(value).__name__}")
    return value


def stack_name(body: dict) -> str:
    name = body.get("stack_name")
    if not isinstance(name, str) or not NAME.match(name):
        raise InvalidInput(f"stack_name: {name!r} is not a valid stack name: it must start with "
                           "a letter and contain only letters, digits, '_', '-' and '.' "
                           "(at most 255 characters)")
    return name


def definition_from_body(body: dict, previous: dict | None = None, patch: bool = False) -> dict:
    files = _typed(body, "files", dict, "an object of name -> content") or {}
    template = _typed(body, "template", (dict, str), "a template (object or text)")
    url = _typed(body, "template_url", str, "a string")
    if template is None and url:
        if url not in files:
            raise InvalidInput("template_url: stoker does not fetch URLs; send the template "
                               "inline in `template` (python-heatclient does) or in `files`")
        template = files[url]
    environment = _typed(body, "environment", (dict, str), "an environment (object or text)")
    environment_files = _typed(body, "environment_files", list, "a list of file names") or []
    parameters = _typed(body, "parameters", dict, "an object") or {}
    clear = _typed(body, "clear_parameters", list, "a list of parameter names") or []
    if patch and previous is not None:
        template = template if template is not None else previous.get("template")
        files = {**(previous.get("files") or {}), **files}
        merged = dict(previous.get("parameters") or {})
        for name in clear:
            merged.pop(name, None)
        merged.update(parameters)
        parameters = merged
        old_env = previous.get("environment") or {}
        if isinstance(old_env, dict) and isinstance(environment, dict):
            environment = {**old_env, **{k: ({**(old_env.get(k) or {}), **v}
                                             if isinstance(v, dict) else v)
                                         for k, v in environment.items()}}
        elif environment is None:
            environment = old_env
        environment_files = environment_files or previous.get("environment_files") or []
    if template is None:
        raise InvalidInput("template: a template is required (send `template`)")
    return {"template": template, "files": files, "environment": environment or {},
            "environment_files": environment_files, "parameters": parameters}


def stack_options(body: dict, previous: dict | None = None) -> dict:
    previous = previous or {}
    timeout = body.get("timeout_mins", previous.get("timeout_mins"))
    if timeout is not None:
        try:
            timeout = int(timeout)
        except (TypeError, ValueError, OverflowError):
            timeout = -1
        if not 0 < timeout <= MAX_TIMEOUT_MINS:
            raise InvalidInput(f"timeout_mins: {body.get('timeout_mins')!r:.40} is not a number "
                               f"of minutes between 1 and {MAX_TIMEOUT_MINS} (10 years)")
    rollback = body.get("disable_rollback", previous.get("disable_rollback", True))
    if isinstance(rollback, str) and rollback.lower() in ("true", "false"):
        rollback = rollback.lower() == "true"
    if not isinstance(rollback, bool):
        raise InvalidInput(f"disable_rollback: {rollback!r} is not a boolean")
    tags = body.get("tags", previous.get("tags"))
    if isinstance(tags, str):
        tags = [t for t in tags.split(",") if t]
    if tags is not None and (not isinstance(tags, list) or any(
            not isinstance(t, str) or len(t) > 80 or "," in t for t in tags)):
        raise InvalidInput("tags: must be a list of strings of at most 80 characters, no commas")
    return {"timeout_mins": timeout, "disable_rollback": rollback, "tags": tags}
