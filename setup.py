"""Packaging for stoker: one distribution, a lean agent install, server extras."""
from setuptools import find_packages, setup

AGENT_REQUIRES = ["requests>=2.28", "pyyaml>=6", "jinja2>=3.1", "psutil>=5.9"]

EXTRAS = {
    "server": ["flask>=3.0", "gunicorn>=22", "SQLAlchemy>=2.0", "alembic>=1.13"],
    "postgres": ["psycopg[binary]>=3.1"],
    "openstack": ["openstacksdk>=3.0"],
    "watch": ["watchdog>=4.0"],
    "yaql": ["yaql>=3.0"],   # the optional HOT yaql function
    "test": ["pytest>=8", "pytest-timeout>=2.3"],
}

setup(
    name="stoker",
    version="0.1.0",
    description="Software configuration for cloud servers: a Heat-compatible metadata server and in-guest agent",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    python_requires=">=3.11",
    packages=find_packages(include=[
        "agent", "agent.*", "collector", "collector.*", "applier", "applier.*",
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
