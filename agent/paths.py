"""Where the agent keeps its files: upstream's default locations, all under one root directory.

Everything hangs off `root` so that a test, or a second agent on one machine, can run against a
scratch tree (`stoker agent --root DIR`) and still find files at the paths upstream tools expect.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Mapping

ROOT_ENV = "STOKER_AGENT_ROOT"
# heat-config's escape hatch for an extra hook directory; searched before the standard ones.
HOOKS_ENV = "HEAT_CONFIG_HOOKS"


@dataclass(frozen=True)
class Paths:
    root: str
    config_file: str
    cachedir: str
    heat_config: str
    deployed_dir: str
    hook_dirs: tuple[str, ...]
    script_working_dir: str
    script_outputs_dir: str
    state_dir: str

    @classmethod
    def under(cls, root: str = "/", env: Mapping[str, str] | None = None) -> "Paths":
        env = os.environ if env is None else env
        root = os.path.abspath(root)

        def at(rel: str) -> str:
            return os.path.join(root, rel)

        hook_dirs = [at("usr/libexec/heat-config/hooks"), at("var/lib/heat-config/hooks")]
        if env.get(HOOKS_ENV):
            # An explicit operator choice, so it is taken as given rather than re-rooted.
            hook_dirs.insert(0, env[HOOKS_ENV])
        return cls(
            root=root,
            config_file=at("etc/os-collect-config.conf"),
            cachedir=at("var/lib/os-collect-config"),
            heat_config=at("var/run/heat-config/heat-config"),
            deployed_dir=at("var/lib/heat-config/deployed"),
            hook_dirs=tuple(hook_dirs),
            script_working_dir=at("var/lib/heat-config/heat-config-script"),
            script_outputs_dir=at("var/run/heat-config/heat-config-script"),
            state_dir=at("var/lib/stoker"),
        )

    @property
    def old_deployed_dir(self) -> str:
        """Where heat-config kept its markers before they moved to /var/lib (migrated on first run)."""
        return os.path.join(self.root, "var/run/heat-config/deployed")

    @property
    def oac_deployed_dir(self) -> str:
        """One empty marker per os-apply-config deployment signalled (99-refresh-completed's)."""
        return os.path.join(self.root, "var/lib/os-apply-config-deployments/deployed")

    @property
    def outbox_dir(self) -> str:
        return os.path.join(self.state_dir, "outbox")

    @property
    def deployments_state_dir(self) -> str:
        """One state file per deployment (state.py)."""
        return os.path.join(self.state_dir, "deployments")

    @property
    def logs_dir(self) -> str:
        """`<id>/stdout.log`, `<id>/stderr.log`: each deployment's full hook output."""
        return os.path.join(self.state_dir, "logs")

    @property
    def lock_file(self) -> str:
        return os.path.join(self.state_dir, "runner.lock")

    @property
    def rerun_request(self) -> str:
        """Present when `stoker agent redeploy` asked the running agent for a run."""
        return os.path.join(self.state_dir, "run-requested")

    def resolve(self, path: str) -> str:
        """A path from a config file: absolute paths stand, relative ones are taken under root."""
        return path if os.path.isabs(path) else os.path.join(self.root, path)


def root_from(cli_root: str | None, env: Mapping[str, str] | None = None) -> str:
    env = os.environ if env is None else env
    return cli_root or env.get(ROOT_ENV) or "/"
