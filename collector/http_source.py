"""What every HTTP collector does the same way: one request with a clear failure line, the
server-suggested poll interval, and a JSON object out of a body."""
from __future__ import annotations

import json
from typing import Any

import requests

from collector.errors import SourceNotAvailable
from collector.http_errors import describe, redact_url

POLL_INTERVAL_HEADER = "X-Stoker-Poll-Interval"
USER_AGENT = "stoker-collector"


def request(session: requests.Session, method: str, url: str, timeout: float, **kwargs: Any) -> requests.Response:
    """Send one request; a transport failure becomes SourceNotAvailable naming the URL (redacted)."""
    kwargs.setdefault("headers", {}).setdefault("User-Agent", USER_AGENT)
    try:
        return session.request(method, url, timeout=timeout, **kwargs)
    except requests.Timeout:
        raise SourceNotAvailable(f"no answer from {redact_url(url)} within {timeout:g}s") from None
    except requests.RequestException as exc:
        raise SourceNotAvailable(f"cannot reach {redact_url(url)}: {describe(exc)}") from None


def require_success(resp: requests.Response, url: str) -> None:
    if not 200 <= resp.status_code < 300:
        raise SourceNotAvailable(f"{redact_url(url)} answered {resp.status_code} {resp.reason}")


def json_object(body: bytes | str, where: str) -> dict:
    """The body as a JSON object, or SourceNotAvailable saying what is wrong with it."""
    try:
        value = json.loads(body)
    except ValueError as exc:
        raise SourceNotAvailable(f"{where}: the body is not JSON ({exc})") from None
    if not isinstance(value, dict):
        raise SourceNotAvailable(f"{where}: the body is a JSON {type(value).__name__}, not an object")
    return value


def poll_interval(resp: requests.Response) -> float | None:
    """Seconds the server asks clients to wait between polls at most, if it says so sensibly."""
    text = resp.headers.get(POLL_INTERVAL_HEADER)
    try:
        value = float(text) if text else None
    except ValueError:
        return None
    return value if value is not None and 0 < value <= 86400 else None
