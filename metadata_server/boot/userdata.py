"""user_data for a server whose software config comes from stoker (user_data_format
SOFTWARE_CONFIG), for stock cloud images that have cloud-init and python3 but no agent.

The result is a MIME multipart with ONE `text/cloud-config` part of stoker's that:

- writes /etc/os-collect-config.conf (the agent's configuration, docs/protocol.md §6) with mode
  0600, since it holds the server's token; with `metrics_interval`, its `[agent]` section turns
  the agent's metrics on (docs/agent.md, Metrics) for alarms stoker evaluates;
- writes the agent's systemd unit and a small bootstrap script;
- runs the script (runcmd, bootstrap.py): create a venv, install the agent from the stoker
  server's own wheelhouse with every hash pinned (or from the package index the operator
  names), link `stoker` into /usr/local/bin, enable and start the unit. The script is idempotent: it skips the download when the agent is already there
  (images built with the stoker-agent element); `stoker-bootstrap --upgrade` upgrades it.

Merging with the user's own user_data. cloud-init merges cloud-config parts in order, and each
part's `merge_how` says how it merges into what came before. The user's parts come first,
unchanged; stoker's part comes last with

    merge_how: [{name: list, settings: [append]}, {name: dict, settings: [no_replace, recurse_list]}]

so stoker's `write_files` and `runcmd` entries are appended to the user's, and any key the
user set (e.g. `package_update`) keeps the user's value. A user's shell scripts and other part
types are passed through untouched.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email import message_from_string
from typing import Mapping

import yaml

from metadata_server.boot.bootstrap import (AgentInstall, BootConfigError,  # noqa: F401
                                           WheelhouseInstall, bootstrap_script)
from metadata_server.boot.units import agent_unit

CONFIG_PATH = "/etc/os-collect-config.conf"
UNIT_PATH = "/etc/systemd/system/stoker-agent.service"
BOOTSTRAP_PATH = "/usr/local/sbin/stoker-bootstrap"
PART_FILENAME = "stoker-agent.cfg"
MERGE_HOW = [{"name": "list", "settings": ["append"]},
             {"name": "dict", "settings": ["no_replace", "recurse_list"]}]

# the first line of a raw user_data names its type (as cloud-init decides it)
_STARTS = (("#cloud-config", "cloud-config"), ("#!", "x-shellscript"),
           ("#cloud-boothook", "cloud-boothook"), ("#include", "x-include-url"),
           ("#part-handler", "part-handler"), ("## template: jinja", "jinja2"))


@dataclass(frozen=True)
class AgentSettings:
    """What the agent needs to reach its server: from the server registration's agent_config."""
    metadata_url: str
    auth_token: str
    polling_interval: float = 30
    min_polling_interval: float = 1
    extra: dict = field(default_factory=dict)   # more [DEFAULT] keys, e.g. a deploy timeout
    # seconds between metric samples, each sent as it is taken; None: metrics off (the agent's default)
    metrics_interval: float | None = None

    @classmethod
    def from_agent_config(cls, agent_config: Mapping, **kw) -> "AgentSettings":
        return cls(metadata_url=agent_config["metadata_url"],
                   auth_token=agent_config["auth_token"], **kw)


def agent_config_text(settings: AgentSettings) -> str:
    """/etc/os-collect-config.conf, in the format of docs/protocol.md §6."""
    for name, value in (("metadata_url", settings.metadata_url),
                        ("auth_token", settings.auth_token)):
        if not value or any(c in str(value) for c in "\n\r"):
            raise BootConfigError(f"agent config {name} is empty or has a newline")
    lines = ["[DEFAULT]", "collectors = watch", f"polling_interval = {settings.polling_interval:g}",
             f"min_polling_interval = {settings.min_polling_interval:g}"]
    lines += [f"{key} = {value}" for key, value in settings.extra.items()]
    lines += ["", "[watch]", f"metadata_url = {settings.metadata_url}",
              f"auth_token = {settings.auth_token}", ""]
    return "\n".join(lines + _agent_section(settings.metrics_interval))


def _agent_section(interval: float | None) -> list[str]:
    """The agent's own `[agent]` settings (agent/settings.py): metrics on, sampled and sent every
    `interval` seconds (as the local driver's agents), so an alarm sees each sample promptly."""
    if interval is None:
        return []
    if isinstance(interval, bool) or not isinstance(interval, (int, float)) or not 0 < interval < math.inf:
        raise BootConfigError(f"agent metrics interval: {interval!r} must be a number of seconds above 0")
    return ["[agent]", "metrics = on", f"metrics_interval = {interval:g}", f"metrics_batch = {interval:g}", ""]


def cloud_config(settings: AgentSettings, install: AgentInstall) -> dict:
    """stoker's cloud-config document (a dict; `cloud_config_text` renders it)."""
    return {
        "merge_how": MERGE_HOW,
        "write_files": [
            {"path": CONFIG_PATH, "owner": "root:root", "permissions": "0600",
             "content": agent_config_text(settings)},
            {"path": UNIT_PATH, "owner": "root:root", "permissions": "0644",
             "content": agent_unit(install.venv)},
            {"path": BOOTSTRAP_PATH, "owner": "root:root", "permissions": "0700",
             "content": bootstrap_script(install)},
        ],
        "runcmd": [[BOOTSTRAP_PATH]],
    }


class _Dumper(yaml.SafeDumper):
    pass


def _literal(dumper, text: str):
    # multi-line strings as `|` blocks: the part stays readable in the console and the logs
    style = "|" if "\n" in text else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style=style)


_Dumper.add_representer(str, _literal)


def cloud_config_text(settings: AgentSettings, install: AgentInstall) -> str:
    return "#cloud-config\n" + yaml.dump(cloud_config(settings, install), Dumper=_Dumper,
                                         sort_keys=False, default_flow_style=False)


def _user_parts(user_data: str | None) -> list[MIMEText]:
    if not user_data:
        return []
    if user_data.lstrip().lower().startswith(("content-type: multipart", "mime-version")):
        message = message_from_string(user_data)
        if message.is_multipart():
            return [part for part in message.walk() if not part.is_multipart()]
    first = user_data.lstrip().split("\n", 1)[0]
    subtype = next((kind for start, kind in _STARTS if first.startswith(start)), "plain")
    part = MIMEText(user_data, subtype, "utf-8")
    part.add_header("Content-Disposition", "attachment", filename="user-data")
    return [part]


def user_data(settings: AgentSettings, install: AgentInstall,
              user_data: str | None = None) -> str:
    """The whole user_data: the user's own parts (if any) first, then stoker's cloud-config."""
    message = MIMEMultipart()
    for part in _user_parts(user_data):
        message.attach(part)
    ours = MIMEText(cloud_config_text(settings, install), "cloud-config", "utf-8")
    ours.add_header("Content-Disposition", "attachment", filename=PART_FILENAME)
    message.attach(ours)
    return message.as_string()
