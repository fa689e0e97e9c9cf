"""Code shared by the in-guest agent, the collector and, where it needs it, the server.

HTTP (http_client, http_body, http_errors), Retry-After reading, atomic file writes, poll backoff
and EC2 signatures. Imports flow one way: agent/, collector/, applier/, refresher/ and the server
may import this package; it imports none of them (tests/test_import_layers.py checks it). Standard
library only and Python 3.9-compatible, as it is installed on every guest.
"""
