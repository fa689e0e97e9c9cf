"""The domain, with no Flask import: configs, deployments, documents, signals, credentials.

Every function takes the store (and a clock where time matters) as arguments.
"""
