"""stoker's in-guest agent: collect metadata, run deployments through hooks, signal the results.

Imports only the standard library plus PyYAML, Jinja2 and psutil, each only once a deployment needs
it (the idle agent carries none of them): this package is what gets installed on every guest, so it
must never pull in the server's dependencies. Its HTTP goes through stoker_common/http_client.py.
"""
