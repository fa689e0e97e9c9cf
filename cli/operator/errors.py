"""Exit codes scripts can rely on, and the one error type every command raises.

Each failure becomes one line on stderr that says what went wrong and what to do; the exit code
says which kind of failure it was, so a script can branch without parsing text.
"""
from __future__ import annotations

OK = 0
FAILED = 1          # the request was refused (400 and other 4xx not listed below)
USAGE = 2           # bad command line or bad local input (argparse uses 2 as well)
NOT_FOUND = 3       # 404: the config, deployment, stack, resource or output does not exist
AUTH = 4            # 401/403: no token, a wrong token, or a token without the right scope
CONFLICT = 5        # 409: e.g. deleting a config a deployment still uses
UNREACHABLE = 6     # cannot connect, timed out, or the server answered 5xx
WAIT_FAILED = 7     # --wait: the stack or deployment ended in a FAILED state
WAIT_TIMEOUT = 8    # --wait: still IN_PROGRESS when --wait-timeout ran out

EXIT_CODES = {
    OK: "success",
    FAILED: "the server refused the request (bad input)",
    USAGE: "bad command line or unreadable local file",
    NOT_FOUND: "the named object does not exist",
    AUTH: "missing, wrong or insufficient token",
    CONFLICT: "the request conflicts with the current state",
    UNREACHABLE: "the server cannot be reached or failed (5xx)",
    WAIT_FAILED: "--wait: the operation ended FAILED",
    WAIT_TIMEOUT: "--wait: gave up waiting",
}


class CliError(Exception):
    """A failure the operator can act on: `message` is the whole story, on one line."""

    def __init__(self, message: str, code: int = FAILED):
        super().__init__(message)
        self.message = " ".join(str(message).split())
        self.code = code


def code_for_status(status: int) -> int:
    if status == 404:
        return NOT_FOUND
    if status in (401, 403):
        return AUTH
    if status == 409:
        return CONFLICT
    if status >= 500:
        return UNREACHABLE
    return FAILED
