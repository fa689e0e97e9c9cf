"""Metadata sources for the agent, behind one `Collector` interface (see `collector.base`).

`registry` lists the collectors by name; `cache` keeps os-collect-config's cache files; `config`
reads os-collect-config.conf; `merger` explodes os-apply-config deployments into their own keys.
"""
