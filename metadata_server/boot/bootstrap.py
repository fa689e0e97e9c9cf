"""Where a booting server gets the agent from, and the script that installs it.

Two ways, chosen by AgentInstall:

- From the stoker server's own wheelhouse (the default; see wheelhouse.py): the script carries a
  requirements file with the sha256 of every file, and installs with
  `pip --require-hashes --no-index --find-links <server>/wheelhouse/`, so the server never
  touches PyPI and installs exactly the agent its server speaks with. pip itself comes from the
  wheelhouse too, its hash checked before it runs: stock images have an old pip (20.x on
  Debian 11), or none, and Debian and Ubuntu may lack python3-venv (ensurepip). So the venv is
  made with `python3 -m venv --without-pip`, which needs only the standard library, and the
  wheelhouse's pip installs into it (including itself), run straight from its wheel.
- From a package index or find-links locations the operator names (STOKER_AGENT_INDEX_URL,
  STOKER_AGENT_FIND_LINKS with STOKER_AGENT_NO_INDEX): the image's own venv and pip. PyPI only
  when named as the index: no default reaches an index nobody chose.
"""
from __future__ import annotations

import shlex
from dataclasses import dataclass
from typing import Mapping

from metadata_server.boot.units import DEFAULT_VENV

# how long the bootstrap keeps trying to fetch pip from a server that is busy or not yet up
FETCH_TRIES = 10


class BootConfigError(ValueError):
    pass


@dataclass(frozen=True)
class WheelhouseInstall:
    """The agent from the stoker server's wheelhouse: its URL (ending in /), the hash-pinned
    requirements, pip's wheel and hash, and the (Python, machine) pairs it has wheels for."""
    url: str
    requirements: str
    pip_wheel: str
    pip_sha256: str
    targets: tuple[tuple[str, str], ...]

    @classmethod
    def from_manifest(cls, base_url: str, manifest: Mapping) -> "WheelhouseInstall":
        pip = manifest.get("pip")
        if not pip:
            raise BootConfigError("the agent wheelhouse has no pip wheel; gather it again")
        targets = tuple(tuple(t[2:].split("-", 1)) for t in manifest["targets"])
        return cls(f"{base_url.rstrip('/')}/wheelhouse/", manifest["requirements"], pip,
                   manifest["files"][pip]["sha256"], targets)


@dataclass(frozen=True)
class AgentInstall:
    """Where the agent comes from: `wheelhouse` (the stoker server's own), or a pip requirement
    (`package`: `stoker`, `stoker==0.1.0`, a wheel URL) from `index_url` or, with `no_index`,
    from `find_links` only (air-gapped images)."""
    package: str = "stoker"
    index_url: str | None = None
    find_links: tuple[str, ...] = ()
    no_index: bool = False
    venv: str = DEFAULT_VENV
    wheelhouse: WheelhouseInstall | None = None

    @staticmethod
    def configured(environ: Mapping[str, str]) -> bool:
        """Whether the operator chose an index or find-links over the server's wheelhouse."""
        return any(environ.get(k) for k in ("STOKER_AGENT_INDEX_URL", "STOKER_AGENT_FIND_LINKS",
                                            "STOKER_AGENT_NO_INDEX"))

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
        if self.wheelhouse is not None:
            _check_wheelhouse(self.wheelhouse)
            return
        if self.no_index and not self.find_links:
            raise BootConfigError("agent install: no_index needs at least one find_links location")
        if not self.no_index and not self.index_url:
            raise BootConfigError(
                "agent install: name the package index (STOKER_AGENT_INDEX_URL, e.g. "
                "https://pypi.org/simple) or find-links with no index; without them the agent "
                "comes from the server's own wheelhouse")


def _check_wheelhouse(wheelhouse: WheelhouseInstall) -> None:
    if not wheelhouse.url.startswith(("http://", "https://")) or not wheelhouse.url.endswith("/"):
        raise BootConfigError(f"agent wheelhouse url: {wheelhouse.url!r} must be http(s) and "
                              "end with /")
    for name in ("url", "pip_wheel", "pip_sha256"):
        value = getattr(wheelhouse, name)
        if any(c in value for c in "\n\r\0'\"\\ "):
            raise BootConfigError(f"agent wheelhouse {name}: {value!r} has a character that "
                                  "cannot go into the boot script")
    if "STOKER_REQUIREMENTS" in wheelhouse.requirements or "--hash=sha256:" not in \
            wheelhouse.requirements:
        raise BootConfigError("agent wheelhouse requirements are not hash-pinned requirements")


def bootstrap_script(install: AgentInstall) -> str:
    """Idempotent: install or upgrade the agent in its venv, then enable and start the unit."""
    install.check()
    venv = shlex.quote(install.venv)
    if install.wheelhouse is not None:
        how, steps = _from_wheelhouse(install.wheelhouse)
    else:
        how, steps = "from a package index", _from_index(install)
    return f"""\
#!/bin/sh
# Written by stoker's user_data: installs the stoker agent into {install.venv} ({how})
# and starts it. Safe to run again; `stoker-bootstrap --upgrade` installs again. On an image
# that already has the agent (built with the stoker-agent element) nothing is downloaded.
set -eu
VENV={venv}
if [ -x "$VENV/bin/stoker" ] && [ "${{1:-}}" != "--upgrade" ]; then
  echo "stoker agent already installed in $VENV"
else
{steps}fi
ln -sf "$VENV/bin/stoker" /usr/local/bin/stoker
if command -v systemctl >/dev/null 2>&1; then
  systemctl daemon-reload || true
  systemctl enable stoker-agent.service
  # --no-block: this runs inside cloud-final, which the unit is ordered after
  systemctl start --no-block stoker-agent.service || true
fi
"""


def _from_index(install: AgentInstall) -> str:
    pip = " ".join(shlex.quote(a) for a in install.pip_args())
    return f"""\
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
"""


# fetch one file, retrying while the server is busy or not up yet; refuse it unless its sha256
# is the pinned one (it runs as root next)
_FETCH = """\
import hashlib, sys, time, urllib.request
url, dest, sha256, tries = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
for attempt in range(1, tries + 1):
    try:
        with urllib.request.urlopen(url, timeout=60) as response:
            data = response.read(64 << 20)
        break
    except Exception as exc:
        if attempt == tries:
            sys.exit(f"stoker-bootstrap: cannot fetch {url}: {exc}")
        print(f"stoker-bootstrap: {url}: {exc}; retrying", file=sys.stderr)
        time.sleep(min(2 ** attempt, 30))
if hashlib.sha256(data).hexdigest() != sha256:
    sys.exit(f"stoker-bootstrap: {url} is not the file this server pinned (sha256 differs)")
with open(dest, "wb") as out:
    out.write(data)
"""

_CHECK_TARGET = """\
import platform, sys
here = ("%d.%d" % sys.version_info[:2], platform.machine())
if here not in {targets}:
    sys.exit("stoker-bootstrap: the server's wheelhouse has no wheels for Python %s on %s "
             "(it has %s); set STOKER_AGENT_INDEX_URL on the server, or use another image"
             % (here + ({pairs!r},)))
"""


def _from_wheelhouse(wheelhouse: WheelhouseInstall) -> tuple[str, str]:
    pairs = ", ".join(f"{p}/{m}" for p, m in wheelhouse.targets)
    check = _CHECK_TARGET.format(targets=repr(set(wheelhouse.targets)), pairs=pairs)
    pip_wheel = wheelhouse.pip_wheel
    steps = f"""\
WHEELHOUSE={wheelhouse.url}
python3 - <<'STOKER_CHECK'
{check}STOKER_CHECK
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
cat > "$WORK/requirements.txt" <<'STOKER_REQUIREMENTS'
{wheelhouse.requirements}STOKER_REQUIREMENTS
cat > "$WORK/fetch.py" <<'STOKER_FETCH'
{_FETCH}STOKER_FETCH
python3 "$WORK/fetch.py" "${{WHEELHOUSE}}{pip_wheel}" "$WORK/{pip_wheel}" \\
  {wheelhouse.pip_sha256} {FETCH_TRIES}
[ -x "$VENV/bin/python" ] || python3 -m venv --without-pip "$VENV"
# --upgrade can only reinstall what this user_data pinned: a repair of the venv
AGAIN=""
if [ "${{1:-}}" = "--upgrade" ]; then AGAIN=--force-reinstall; fi
"$VENV/bin/python" "$WORK/{pip_wheel}/pip" install --disable-pip-version-check --no-cache-dir \\
  --no-index --find-links "$WHEELHOUSE" --require-hashes --retries 10 --timeout 60 $AGAIN \\
  -r "$WORK/requirements.txt"
"""
    return f"from its server's wheelhouse {wheelhouse.url}, every file pinned by sha256", steps
