"""The two ways a collector can decline to produce data, plus configuration errors.

The loop treats them differently: a source that is not configured is skipped quietly, a source
that is configured but unreachable is reported (one line per attempt) and retried.
"""
from __future__ import annotations


class SourceNotConfigured(Exception):
    """The collector has no settings to work with (e.g. no metadata_url); skipped at debug."""


class SourceNotAvailable(Exception):
    """The source is configured but gave nothing usable this time.

    `reason` is one line meant for the operator: what was tried (URL, never a credential) and why it
    failed.
    """

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class ConfigError(ValueError):
    """A problem in os-collect-config.conf; the message names the file, section and key."""
