"""The server's gates on Heat's abandon and adopt (`stoker server --stack-abandon`,
`--stack-adopt`; Heat's enable_stack_abandon / enable_stack_adopt): docs/operations.md says why
abandon is on and adopt off by default."""
from __future__ import annotations

from flask import current_app

from metadata_server.service.errors import InvalidInput

SETTINGS = "stoker-stack-lifecycle"   # app.extensions: {"abandon": bool, "adopt": bool}


def enabled(feature: str) -> bool:
    return bool(current_app.extensions.get(SETTINGS, {}).get(feature))


def allow_abandon() -> None:
    if not enabled("abandon"):
        raise InvalidInput("Stack Abandon is not supported: this server runs with "
                           "--no-stack-abandon", "NotSupported")


def allow_adopt(body: dict) -> None:
    """A create with adopt_stack_data, on a server that does not adopt: Heat's 400."""
    if body.get("adopt_stack_data") is not None and not enabled("adopt"):
        raise InvalidInput("Stack Adopt is not supported: this server runs without "
                           "--stack-adopt", "NotSupported")
