"""stoker's in-guest agent: collect metadata, run deployments through hooks, signal the results.

Imports only the standard library plus requests, PyYAML, Jinja2 and psutil: this package is what
gets installed on every guest, so it must never pull in the server's dependencies.
"""
