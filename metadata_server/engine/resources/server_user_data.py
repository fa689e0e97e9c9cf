"""What an OS::Nova::Server boots with: its user_data, built once here by `user_data_format`.

Cloud drivers send this text as it is (the openstack driver only base64-encodes it for Nova);
nothing downstream wraps it again. As in Heat:

- RAW: the user's user_data untouched (an id of a software config is resolved to its config
  by the resource first).
- SOFTWARE_CONFIG: a MIME multipart with the user's parts first, then stoker's cloud-config part
  that writes the agent's configuration and installs it (metadata_server/boot/userdata.py). It
  takes the place of Heat's cfn-init-data, boothook and part-handler parts, which configure
  Heat's own agents from /var/lib/heat-cfntools.
- HEAT_CFNTOOLS: Heat passes the user's text as `cfn-userdata`, a script run once at first boot.
  stoker sends a multipart with that one part, typed for cloud-init by its first line (a script,
  a `#cloud-config` ...) and a shell script otherwise, as Heat would run it. Heat's parts for
  heat-cfntools (cfn-init-data, cfn-metadata-server, cfn-boto-cfg, loguserdata.py, its boothook)
  are left out: stoker ships no heat-cfntools and serves no CFN metadata to a server it did not
  register. docs/engine.md says so.
"""
from __future__ import annotations

from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from typing import Callable, Mapping

from metadata_server.boot import userdata

CFN_USERDATA = "cfn-userdata"
# first line -> the MIME subtype cloud-init would have chosen for the raw text
_FIRST_LINES = (("#cloud-config", "cloud-config"), ("#cloud-boothook", "cloud-boothook"),
                ("#include", "x-include-url"), ("#part-handler", "part-handler"),
                ("## template: jinja", "jinja2"))


def _is_multipart(text: str) -> bool:
    return text.lstrip().lower().startswith(("content-type: multipart", "mime-version"))


def cfntools(text: str) -> str:
    """HEAT_CFNTOOLS: the user's text as the one `cfn-userdata` part ("" stays "")."""
    if not text or _is_multipart(text):
        return text      # nothing to run, or parts the user already typed
    first = text.lstrip().split("\n", 1)[0]
    subtype = next((kind for start, kind in _FIRST_LINES if first.startswith(start)),
                   "x-shellscript")
    part = MIMEText(text, subtype, "utf-8")
    part.add_header("Content-Disposition", "attachment", filename=CFN_USERDATA)
    message = MIMEMultipart()
    message.attach(part)
    return message.as_string()


def software_config(text: str, watch: Mapping, install: userdata.AgentInstall) -> str:
    """SOFTWARE_CONFIG: the user's parts, then the agent's configuration and install."""
    return userdata.user_data(userdata.AgentSettings.from_agent_config(watch), install,
                              user_data=text)


def build(user_data_format: str, text: str, *, watch: Mapping | None = None,
          install: Callable[[], userdata.AgentInstall] | None = None, boots: bool = True) -> str:
    """The user_data to boot with; `watch` (the agent's collector settings) and `install`
    (where the agent comes from, asked only when needed: it may gather the server's wheelhouse,
    metadata_server/boot/agent_source.py) for SOFTWARE_CONFIG. A driver whose servers boot no
    image (`boots` False: the local driver's are agent processes) gets the user's text there."""
    if user_data_format == "SOFTWARE_CONFIG" and not boots:
        return text
    if user_data_format == "SOFTWARE_CONFIG":
        if watch is None or install is None:
            raise ValueError("SOFTWARE_CONFIG user_data needs the agent's collector settings "
                             "and install")
        return software_config(text, watch, install())
    if user_data_format == "HEAT_CFNTOOLS":
        return cfntools(text)
    return text
