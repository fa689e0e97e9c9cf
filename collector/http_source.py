"""What every HTTP collector does the same way: one request with a clear failure line, the
server-suggested poll interval, and a JSON object out of a body."""
from __future__ import annotations

import json
from typing import Mapping

from collector.errors import SourceNotAvailable
from stoker_common.http_client import HttpClient, ResponseTooLarge, Response, Timeout, TransportError
from stoker_common.http_errors import redact_url

POLL_INTERVAL_HEADER = "X-Stoker-Poll-Interval"
USER_AGENT = "stoker-collector"


def request(http: HttpClient, method: str, url: str, timeout: float,
            headers: Mapping[str, str] | None = None, body: bytes | None = None) -> Response:
    """Send one request; a transport failure becomes SourceNotAvailable naming the URL (redacted)."""
    sent = {"User-Agent": USER_AGENT, **(headers or {})}
    try:
        return http.request(method, url, headers=sent, body=body, timeout=timeout)
    except Timeout:
        raise SourceNotAvailable(f"no answer from {redact_url(url)} within {timeout:g}s") from None
    except ResponseTooLarge as exc:
        raise SourceNotAvailable(f"{exc.url}: {exc.reason}") from None
    except TransportError as exc:
        raise SourceNotAvailable(f"cannot reach {redact_url(url)}: {exc.reason}") from None


def require_success(resp: Response, url: str) -> None:
    if not resp.ok:
        raise SourceNotAvailable(f"{redact_url(url)} answered {resp.status} {resp.reason}")


def json_object(body: bytes | str, where: str) -> dict:
    """The body as a JSON object, or SourceNotAvailable saying what is wrong with it."""
    try:
        value = json.loads(body)
    except ValueError as exc:
        raise SourceNotAvailable(f"{where}: the body is not JSON ({exc})") from None
    if not isinstance(value, dict):
        raise SourceNotAvailable(f"{where}: the body is a JSON {type(value).__name__}, not an object")
    return value


def server_message(resp: Response) -> str:
    """`: <error.message>` of a Heat-shaped error body, if there is one."""
    try:
        message = resp.json()["error"]["message"]
    except (ValueError, KeyError, TypeError):
        return ""
    return ": " + " ".join(str(message).split())[:200] if message else ""


def poll_interval(resp: Response) -> float | None:
    """Seconds the server asks clients to wait between polls at most, if it says so sensibly."""
    text = resp.headers.get(POLL_INTERVAL_HEADER)
    try:
        value = float(text) if text else None
    except ValueError:
        return None
    return value if value is not None and 0 < value <= 86400 else None
