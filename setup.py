"""Packaging for stoker: one distribution, a lean agent install, server extras."""
from setuptools import find_packages, setup

AGENT_REQUIRES = ["requests>=2.28", "pyyaml>=6", "jinja2>=3.1", "psutil>=5.9"]
# The agent runs on the Pythons of stock cloud images (3.9 on RHEL 9 and Debian 11, 3.10 on
# Ubuntu 22.04); the server needs 3.11. One wheel serves both: the server-only extras resolve to
# nothing on an older Python, and `stoker server` refuses there with a clear message (cli/main.py).
AGENT_PYTHON = ">=3.9"
SERVER_PYTHON = "; python_version >= '3.11'"

EXTRAS = {
    "server": [d + SERVER_PYTHON for d in ("flask>=3.0", "gunicorn>=27,<28", "SQLAlchemy>=2.0", "alembic>=1.13",
                                           "regex>=2023.0")],   # allowed_pattern time limit
    "postgres": ["psycopg[binary]>=3.2" + SERVER_PYTHON],
    "openstack": ["openstacksdk>=3.0" + SERVER_PYTHON],   # the server's OpenStack driver (the agent needs none)
    "watch": ["watchdog>=4.0"],
    "yaql": ["yaql>=3.0" + SERVER_PYTHON],   # the optional HOT yaql function
    "test": ["pytest>=8", "pytest-timeout>=2.3", "hypothesis>=6.100",
             "selenium>=4.20" + SERVER_PYTHON],   # the dashboard in headless system Chromium
}

setup(
    name="stoker",
    version="0.1.0",
    description="Software configuration for cloud servers: a Heat-compatible metadata server and in-guest agent",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    python_requires=AGENT_PYTHON,
    packages=find_packages(include=[
        "agent", "agent.*", "collector", "collector.*", "applier", "applier.*", "stoker_common", "stoker_common.*",
        "refresher", "refresher.*", "metadata_server", "metadata_server.*", "cli", "cli.*",
    ]),
    package_data={"metadata_server.store": ["alembic.ini"]},
    install_requires=AGENT_REQUIRES,
    extras_require=EXTRAS,
    entry_points={"console_scripts": [
        "stoker = cli.main:main",
        # drop-in names for images and elements built for Heat's agents
        "os-collect-config = collector.cli:main",
        "os-refresh-config = refresher.cli:main",
        "os-apply-config = applier.cli:main",
        "os-config-applier = applier.cli:main",  # os-apply-config's legacy name
        "heat-config-notify = agent.notify:main",
    ]},
)
