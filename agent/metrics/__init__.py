"""This server's metrics, sampled by the agent and sent to the metadata server for its alarms.

An opt-in (`[agent] metrics = on`, or `--metrics`): every `metrics_interval` seconds a sample is
taken — the built-in psutil metrics (system.py) and the `name value` lines that executables in the
metrics directory print (scripts.py) — and kept in a bounded queue (batch.py); every
`metrics_batch` seconds the queue goes to the server in as few POSTs as the wire contract allows
(sender.py; URL and credential derived from the collectors' configuration). All of it runs on one
thread of its own (reporter.py), so sampling or a slow server never delays a deployment. The wire
format is docs/protocol.md's; the options are docs/agent.md's.
"""
