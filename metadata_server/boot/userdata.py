"""user_data for a server whose software config comes from stoker (user_data_format
SOFTWARE_CONFIG), for stock cloud images that have cloud-init and python3 but no agent.

The result is a MIME multipart with ONE `text/cloud-config` part of stoker's that:

- writes /etc/os-collect-config.conf (the agent's configuration, docs/protocol.md §6) with mode
  0600, since it holds the server's token;
- writes the agent's systemd unit and a small bootstrap script;
- runs the script (runcmd): create a venv, `pip install` the agent from the configured package
  index, find-links location or wheel URL, link `stoker` into /usr/local/bin, enable and start
  the unit. The script is idempotent: it skips the download when the agent is already there
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

import shlex
from dataclasses import dataclass, field
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email import message_from_string
from typing import Mapping

import yaml

from metadata_server.boot.units import DEFAULT_VENV, agent_unit

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


class BootConfigError(ValueError):
    pass


@dataclass(frozen=True)
class AgentInstall:
    """Where the agent comes from. `package` is a pip requirement (`stoker`, `stoker==0.1.0`)
    or a wheel URL; `index_url` replaces PyPI, `find_links` adds locations; `no_index` keeps pip
    to `find_links` only (air-gapped images)."""
    package: str = "stoker"
    index_url: str | None = None
    find_links: tuple[str, ...] = ()
    no_index: bool = False
    venv: str = DEFAULT_VENV

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> "AgentInstall":
        """STOKER_AGENT_PACKAGE, STOKER_AGENT_INDEX_URL, STOKER_AGENT_FIND_LINKS (space
        separated), STOKER_AGENT_NO_INDEX=1, STOKER_AGENT_VENV."""
        return cls(package=environ.get("STOKER_AGENT_PACKAGE") or "stoker",
                   index_url=environ.get("STOKER_AGENT_INDEX_URL") or None,
                   find_links=tuple(environ.get("STOKER_AGENT_FIND_LINKS", "").split()),
                   no_index=environ.get("STOKER_AGENT_NO_INDEX", "") in ("1", "true", "yes"),
                   venv=environ.get("STOKER_AGENT_VENV") or DEFAULT_VENV)

    def pip_args(self) -> list[str]:
        args = []
        if self.no_index:
            args.append("--no-index")
        elif self.index_url:
            args += ["--index-url", self.index_url]
        for location in self.find_links:
            args += ["--find-links", location]
        return args + [self.package]

    def check(self) -> None:
        for name, value in (("package", self.package), ("venv", self.venv)):
            if not value or any(c in value for c in "\n\r\0"):
                raise BootConfigError(f"agent install {name}: {value!r} is empty or has a newline")
        if not self.venv.startswith("/"):
            raise BootConfigError(f"agent install venv: {self.venv!r} must be an absolute path")
        if self.no_index and not self.find_links:
            raise BootConfigError("agent install: no_index needs at least one find_links location")


@dataclass(frozen=True)
class AgentSettings:
    """What the agent needs to reach its server: from the server registration's agent_config."""
    metadata_url: str
    auth_token: str
    polling_interval: float = 30
    min_polling_interval: float = 1
    extra: dict = field(default_factory=dict)   # more [DEFAULT] keys, e.g. a deploy timeout

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
    return "\n".join(lines)


def bootstrap_script(install: AgentInstall) -> str:
    """Idempotent: install or upgrade the agent in its venv, then enable and start the unit."""
    install.check()
    venv = shlex.quote(install.venv)
    pip = " ".join(shlex.quote(a) for a in install.pip_args())
    return f"""\
#!/bin/sh
# Written by stoker's user_data: installs the stoker agent into {install.venv} and starts it.
# Safe to run again; `stoker-bootstrap --upgrade` installs a newer package. On an image that
# already has the agent (built with the stoker-agent element) nothing is downloaded.
set -eu
VENV={venv}
if [ -x "$VENV/bin/stoker" ] && [ "${{1:-}}" != "--upgrade" ]; then
  echo "stoker agent already installed in $VENV"
else
if [ ! -x "$VENV/bin/python" ]; then
  if ! python3 -m venv "$VENV" 2>/dev/null; then
    # Debian and Ubuntu ship venv support separately
    if command -v apt-get >/dev/null 2>&1; then
      export DEBIAN_FRONTEND=noninteractive
      apt-get update -q && apt-get install -y -q python3-venv
    fi
    rm -rf "$VENV"
    python3 -m venv "$VENV"
  fi
fi
"$VENV/bin/python" -m pip install --disable-pip-version-check --upgrade {pip}
fi
ln -sf "$VENV/bin/stoker" /usr/local/bin/stoker
if command -v systemctl >/dev/null 2>&1; then
  systemctl daemon-reload || true
  systemctl enable stoker-agent.service
  # --no-block: this runs inside cloud-final, which the unit is ordered after
  systemctl start --no-block stoker-agent.service || true
fi
"""


def cloud_config(settings: AgentSettings, install: AgentInstall = AgentInstall()) -> dict:
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


def cloud_config_text(settings: AgentSettings, install: AgentInstall = AgentInstall()) -> str:
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


def user_data(settings: AgentSettings, install: AgentInstall = AgentInstall(),
              user_data: str | None = None) -> str:
    """The whole user_data: the user's own parts (if any) first, then stoker's cloud-config."""
    message = MIMEMultipart()
    for part in _user_parts(user_data):
        message.attach(part)
    ours = MIMEText(cloud_config_text(settings, install), "cloud-config", "utf-8")
    ours.add_header("Content-Disposition", "attachment", filename=PART_FILENAME)
    message.attach(ours)
    return message.as_string()
