"""Templates: upload one to create, preview or update a stack; errors shown at their line."""
from __future__ import annotations

from flask import redirect, render_template, request, url_for

from metadata_server.api.common import ctx
from metadata_server.api.app_engine import engine
from metadata_server.dashboard import session as sessions
from metadata_server.dashboard.blueprint import bp
from metadata_server.dashboard.positions import locate
from metadata_server.service.errors import InvalidInput, ServiceError

ACTIONS = ("create", "preview", "update")


def _upload(field: str, required: bool) -> str | None:
    upload = request.files.get(field)
    if upload is None or not upload.filename:
        if required:
            raise InvalidInput(f"{field}: choose a file to upload")
        return None
    try:
        return upload.read().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"{field} {upload.filename}: not UTF-8 text (byte {exc.start})")


def _parameters(text: str) -> dict[str, str]:
    """`name=value` per line; blank lines are skipped."""
    values = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        name, sep, value = line.partition("=")
        if not sep or not name.strip():
            raise InvalidInput(f"parameters line {number}: write name=value, got {line!r:.80}")
        values[name.strip()] = value
    return values


def _form(session, **extra):
    values = {"action": "create", "stack_name": "", "parameters": "", "problems": [],
              "preview": None, "strict": True, "heading": None}
    values.update(extra)
    return render_template("dashboard/templates.html", session=session, actions=ACTIONS,
                           **values)


@bp.get("/templates")
@sessions.signed_in
def templates(session):
    return _form(session, stack_name=request.args.get("stack", "")[:255],
                 action="update" if request.args.get("stack") else "create")


@bp.post("/templates")
@sessions.signed_in
def upload_template(session):
    action = request.form.get("action", "create")
    name = request.form.get("stack_name", "").strip()
    params_text = request.form.get("parameters", "")
    strict = request.form.get("strict") == "on"
    again = {"action": action, "stack_name": name, "parameters": params_text, "strict": strict}
    texts: dict[str, str] = {}
    try:
        if action not in ACTIONS:
            raise InvalidInput(f"action: one of {', '.join(ACTIONS)}, got {action!r:.40}")
        if not name:
            raise InvalidInput("stack name: required")
        texts["template"] = _upload("template", True)
        environment = _upload("environment", False)
        body = {"stack_name": name, "template": texts["template"],
                "parameters": _parameters(params_text)}
        if environment is not None:
            texts["environment"] = body["environment"] = environment
        eng = engine()
        # the engine keeps a misspelt function (get_parm) as data, as Heat does; its warnings
        # stop the upload unless the operator unticks "stop on warnings"
        warnings = [str(w) for w in eng.validate(body).get("Warnings") or []]
        if warnings and strict:
            return _form(session, **again, heading="The template has warnings; nothing was done",
                         problems=[(w, locate(w, texts)) for w in warnings]), 400
        if action == "preview":
            return _form(session, **again, preview=eng.preview_stack(session.tenant, body),
                         problems=[(w, locate(w, texts)) for w in warnings])
        if action == "create":
            stack = eng.create_stack(session.tenant, body, ctx().endpoints())
            return redirect(url_for("dashboard.stack", stack_id=stack["id"]), code=303)
        stack = eng.get_stack(session.tenant, name)
        eng.update_stack(session.tenant, stack["id"], body, endpoints=ctx().endpoints())
        return redirect(url_for("dashboard.stack", stack_id=stack["id"]), code=303)
    except ServiceError as exc:
        return _form(session, **again, heading="The upload was refused",
                     problems=[(exc.message, locate(exc.message, texts))]), exc.code
