"""The one error the applier reports: what went wrong and where, never a traceback."""


class ApplyError(Exception):
    """Bad metadata, template, control file or option; the message names the file (and line)."""
