"""How long both serving modes keep an idle kept-alive connection: gunicorn's keep-alive under
`--workers`, and the least time the embedded server waits on a silent connection. Longer than an
agent's 30 s poll, so a poll never races the server closing its connection."""
KEEPALIVE_SECONDS = 75
