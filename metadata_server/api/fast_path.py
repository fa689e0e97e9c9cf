"""A WSGI layer in front of Flask for the request that dominates the load: an agent's poll.

When the caller's credential and the server's document are both in memory, the poll is answered
here, before Flask's routing and without a database query. Anything else (an unknown token, a
document not built yet, an error to report) goes to Flask, which answers it the long way.

A long poll held by a gunicorn worker (document_endpoint.Park) carries `again`: the same checks
and answer from memory, which the worker's event loop calls when the poll wakes, with no thread.
"""
from __future__ import annotations

import re
from dataclasses import replace
from functools import partial
from urllib.parse import parse_qs

from metadata_server.api.common import Context
from metadata_server.api.document_endpoint import (DocumentRequest, Park, parse_if_none_match,
                                                   parse_wait, respond)
from metadata_server.service import documents, keystone
from metadata_server.service.auth import SERVER
from metadata_server.service.credentials import token_hash

POLL = re.compile(r"^/v1/([^/]+)/servers/([^/]+)/metadata$")
STATUS = {200: "200 OK", 304: "304 Not Modified"}


class PollFastPath:
    def __init__(self, wsgi_app, context: Context):
        self.wsgi_app, self.context = wsgi_app, context

    def __call__(self, environ, start_response):
        answer = self._try(environ)
        if answer is None:
            return self.wsgi_app(environ, start_response)
        status, headers, body = answer
        start_response(STATUS[status], headers)
        return [body]

    def _try(self, environ):
        method = environ.get("REQUEST_METHOD")
        match = POLL.match(environ.get("PATH_INFO", ""))
        token = environ.get("HTTP_X_AUTH_TOKEN")
        if method not in ("GET", "HEAD") or match is None or not token:
            return None
        tenant, server_id = match.groups()
        c = self.context
        if not self._allowed(token, tenant, server_id):
            return None  # admin and unknown tokens take the checked path; Flask says 403
        query = parse_qs(environ.get("QUERY_STRING", ""))
        cached = c.documents.peek(server_id)
        # a cached document proves the server exists; without one, Flask checks and builds it
        if cached is None or cached.tenant != tenant:
            return None
        base = c.public_url or f"{environ['wsgi.url_scheme']}://{environ.get('HTTP_HOST', '')}"
        req = DocumentRequest(tenant, server_id,
                              parse_if_none_match(environ.get("HTTP_IF_NONE_MATCH")),
                              parse_wait((query.get("wait") or [None])[0]),
                              # after a change wakes a watcher, it rebuilds here, not in Flask
                              documents.watch_settings(f"{base.rstrip('/')}{match.group(0)}"),
                              head=method == "HEAD")
        try:
            return self._answer(req)
        except Park as park:
            # woken, it is answered from memory again if it can be (not built: None)
            park.again = partial(self._again, token, replace(req, os_collect_config=None))
            raise

    def _allowed(self, token: str, tenant: str, server_id: str) -> bool:
        c = self.context
        # the cache keeps a principal for up to a minute; a keystone token may expire sooner
        if keystone.is_keystone_token(token) and keystone.read(
                c.signing_keys(), token, c.clock()) is None:
            return False
        principal = c.credentials.get(token_hash(token))
        return (principal is not None and principal.kind == SERVER
                and principal.server_id == server_id and principal.tenant == tenant)

    def _answer(self, req: DocumentRequest):
        c = self.context
        answer = respond(c.documents, req, poll_interval=c.poll_interval)
        if answer is not None:
            c.last_seen.record(req.server_id, c.clock())
            c.metrics.inc("stoker_polls_total", answer=str(answer[0]), path="fast")
        return answer

    def _again(self, token: str, req: DocumentRequest):
        if not self._allowed(token, req.tenant, req.server_id):
            return None  # revoked or expired meanwhile: the request runs again in full
        return self._answer(req)

