"""/wheelhouse/: the agent's wheels (metadata_server/boot/wheelhouse.py) for the servers this
server boots. No token: a booting server has none yet, and the files are public packages.
Read-only, and only the files the manifest names, by exact name. Every file carries its sha256
in its link (`#sha256=`) and as its ETag; the user_data pins the same hashes, so a file changed
on the way is refused by pip. A bounded number of downloads run at once; the next gets 503 with
Retry-After, which pip and the bootstrap retry.
"""
from __future__ import annotations

import hashlib
import html
import json
import threading

from flask import Blueprint, Response, abort, request, send_file

from metadata_server.boot import wheelhouse

bp = Blueprint("wheelhouse", __name__)
MAX_DOWNLOADS = 16      # per process
RETRY_AFTER = 5
MAX_AGE = 300

_downloads = threading.BoundedSemaphore(MAX_DOWNLOADS)


def _manifest() -> tuple[wheelhouse.Wheelhouse, dict]:
    found = wheelhouse.current()
    manifest = found.manifest() if found else None
    if not manifest:
        abort(404, description="this server's agent wheelhouse is not gathered yet "
                               "(`stoker wheelhouse`, or the first SOFTWARE_CONFIG server)")
    return found, manifest


def _conditional(response: Response, etag: str) -> Response:
    response.set_etag(etag)
    response.cache_control.public = True
    response.cache_control.max_age = MAX_AGE
    return response.make_conditional(request)


@bp.get("/wheelhouse/")
def index():
    """A find-links page: one link per wheel, with its hash."""
    _, manifest = _manifest()
    links = "".join(f'<a href="{html.escape(name)}#sha256={entry["sha256"]}">'
                    f"{html.escape(name)}</a><br>\n"
                    for name, entry in sorted(manifest["files"].items()))
    body = ("<!DOCTYPE html>\n<html><head><title>stoker agent wheelhouse</title></head>"
            f"<body>\n{links}</body></html>\n")
    etag = hashlib.sha256(body.encode()).hexdigest()[:32]
    return _conditional(Response(body, mimetype="text/html"), etag)


@bp.get("/wheelhouse/requirements.txt")
def requirements():
    """The hash-pinned requirements the user_data installs with (for operators and images)."""
    _, manifest = _manifest()
    body = manifest["requirements"]
    etag = hashlib.sha256(body.encode()).hexdigest()[:32]
    return _conditional(Response(body, mimetype="text/plain"), etag)


@bp.get("/wheelhouse/install.json")
def install():
    """What a user_data pins (pip's wheel, every file's sha256, the targets, the requirements),
    for `stoker server register --user-data`; the manifest file itself is never served."""
    _, found = _manifest()
    body = json.dumps({"pip": found["pip"], "targets": found["targets"],
                       "requirements": found["requirements"],
                       "files": {n: {"sha256": e["sha256"]} for n, e in found["files"].items()}},
                      sort_keys=True)
    etag = hashlib.sha256(body.encode()).hexdigest()[:32]
    return _conditional(Response(body, mimetype="application/json"), etag)


@bp.get("/wheelhouse/<name>")
def wheel(name: str):
    found, _ = _manifest()
    entry = found.file(name)
    if entry is None:
        abort(404, description=f"no file {name!r} in this server's agent wheelhouse")
    path, meta = entry
    if request.if_none_match.contains(meta["sha256"]):   # already has it: no slot, no file
        return _conditional(Response(status=304), meta["sha256"])
    if not _downloads.acquire(blocking=False):
        response = Response("too many wheelhouse downloads at once; retry\n", status=503,
                            mimetype="text/plain")
        response.headers["Retry-After"] = str(RETRY_AFTER)
        return response
    try:
        response = send_file(path, mimetype="application/octet-stream", download_name=name,
                             etag=meta["sha256"], conditional=True, max_age=MAX_AGE)
    except OSError:
        _downloads.release()
        abort(404, description=f"{name!r} is listed but missing; gather the wheelhouse again")
    except BaseException:
        _downloads.release()
        raise
    response.response = _Slot(response.response)
    return response


class _Slot:
    """A file response's body that gives its download slot back, once, when the server closes
    it (send_file's body is passed straight through, so the response's own on-close hooks do
    not run for it)."""

    def __init__(self, body):
        self.body, self._held = body, True

    def __iter__(self):
        return iter(self.body)

    def close(self) -> None:
        try:
            if hasattr(self.body, "close"):
                self.body.close()
        finally:
            if self._held:
                self._held = False
                _downloads.release()
