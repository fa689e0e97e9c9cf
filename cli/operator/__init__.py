"""Operator commands (`stoker stack|software|template|deployment ...`), shaped like
`openstack stack ...` and `openstack software config|deployment ...`.

Only `requests` and `pyyaml` are needed (both in the agent's lean install); nothing here imports
the server's packages, because the CLI talks to the server over its HTTP API like any client.
"""
