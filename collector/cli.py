"""`os-collect-config`: the drop-in command, with upstream's config file, flags and cache files.

    os-collect-config [collectors ...] [--command CMD] [--one-time] [--force] [--print]
                      [--print-cachedir] [--polling-interval S] [--min-polling-interval S]
                      [--splay S] [--cachedir DIR] [--backup-cachedir DIR] [--config-file F]
                      [--<collector>-<option> VALUE ...]

Flags override the config file; the config file is /etc/os-collect-config.conf (and the other
places oslo.config looks) unless --config-file is given. Exit status: 0, the command's status when
it failed with --one-time/--force, 1 for a bad configuration, as upstream (which raised instead).
"""
from __future__ import annotations

import argparse
import hashlib
import logging
import os
import sys
from typing import Any, Sequence

from collector import config as occ_config
from collector import registry
from collector.daemon import Daemon, Settings
from collector.errors import ConfigError

log = logging.getLogger("os-collect-config")

DEFAULT_CACHEDIR = "/var/lib/os-collect-config"
DEFAULT_BACKUP_CACHEDIR = "/var/run/os-collect-config"
# stoker polls with a little randomness from the start, so a fleet booted together spreads out.
DEFAULT_SPLAY = 5.0
# oslo.config's search for "os-collect-config.conf"; every file found is read, later ones win.
SEARCH = ("~/.os-collect-config/os-collect-config.conf", "~/os-collect-config.conf",
          "/etc/os-collect-config/os-collect-config.conf", "/etc/os-collect-config.conf")
# Sections upstream accepts that no stoker collector reads.
IGNORED_SECTIONS = {"keystone": ("cache_dir", "cache_ttl")}


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="os-collect-config", description=(
        "Collect this server's metadata from the configured sources into the cache directory and "
        "run COMMAND (usually os-refresh-config) whenever it changes."))
    p.add_argument("collectors", nargs="*", help="collectors to use, in order (default: the config "
                   "file's, else " + " ".join(registry.UPSTREAM_DEFAULT) + ")")
    p.add_argument("-c", "--command", help="shell command to run when the metadata changed; "
                   "without one the metadata is printed and nothing is cached")
    p.add_argument("--cachedir", help=f"cache directory (default {DEFAULT_CACHEDIR})")
    p.add_argument("--backup-cachedir", help=f"copy of the cache directory (default {DEFAULT_BACKUP_CACHEDIR})")
    p.add_argument("--one-time", action="store_true", default=None, help="exit after one run of the command")
    p.add_argument("--force", action="store_true", default=None,
                   help="run the command even if nothing changed; implies --one-time")
    p.add_argument("--print", dest="print_only", action="store_true", default=None,
                   help="print the collected metadata as JSON and exit; no command, no cache writes")
    p.add_argument("--print-cachedir", action="store_true", help="print the cache directory and exit")
    p.add_argument("-i", "--polling-interval", type=_seconds, help="longest sleep between polls (default 30)")
    p.add_argument("--min-polling-interval", type=_seconds, help="first and shortest sleep (default 1)")
    p.add_argument("--splay", type=_seconds_or_zero,
                   help=f"random delay in [0, S) before the first poll (default {DEFAULT_SPLAY:g})")
    p.add_argument("--deployment-key", action="append",
                   help="root key whose os-apply-config deployments are exploded (repeatable)")
    p.add_argument("--config-file", action="append", help="config file (repeatable; later files win)")
    p.add_argument("-d", "--debug", action="store_true", help="log at debug level")
    p.add_argument("-v", "--verbose", action="store_true", help="accepted for compatibility")
    p.add_argument("--log-file", help="log to this file instead of stderr")
    for name, cls in registry.COLLECTORS.items():
        group = p.add_argument_group(f"[{name}]")
        for key, option in cls.options.items():
            _add_section_option(group, name, key, option.help, option.multi)
    for section, keys in IGNORED_SECTIONS.items():
        group = p.add_argument_group(f"[{section}] (accepted, not used)")
        for key in keys:
            _add_section_option(group, section, key, "", False)
    return p


def _add_section_option(group: Any, section: str, key: str, help_text: str, multi: bool) -> None:
    # Upstream's flags are `--<section>-<option>` with the option spelled as it declared it (some
    # with dashes, some with underscores); both spellings are accepted for every option.
    flags = dict.fromkeys(f"--{s}-{k}" for s in (section, section.replace("_", "-"))
                          for k in (key.replace("_", "-"), key))
    group.add_argument(*flags, dest=f"section__{section}__{key}", metavar=key.upper(),
                       action="append" if multi else "store", help=help_text)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    _setup_logging(args.debug, args.log_file)
    try:
        settings, collectors = configure(args)
    except ConfigError as exc:
        log.error("%s", exc)
        return 1
    if args.print_cachedir:
        print(settings.cachedir)
        return 0
    daemon = Daemon(settings, collectors)
    if settings.command and not (settings.print_only or settings.one_time or settings.force):
        daemon.install_signals()
    return daemon.run()


def configure(args: argparse.Namespace) -> tuple[Settings, list]:
    files = args.config_file or [p for p in (os.path.expanduser(s) for s in SEARCH) if os.path.exists(p)]
    raw: list[bytes] = []
    for path in files:
        try:
            with open(path, "rb") as f:
                raw.append(f.read())
        except OSError as exc:
            raise ConfigError(f"{path}: cannot read config file: {exc.strerror or exc}") from None
    texts = []
    for path, data in zip(files, raw):
        try:
            texts.append(data.decode("utf-8").replace("\r\n", "\n"))
        except UnicodeDecodeError as exc:
            raise ConfigError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    where = files[-1] if len(files) == 1 else (", ".join(files) or "<no config file>")
    text = "\n".join(texts)
    if args.collectors:
        # CLI collectors replace the file's; the file is still parsed for its sections.
        text = _without_collectors(text) + "\n[DEFAULT]\n" + "".join(f"collectors = {c}\n" for c in args.collectors)
    cfg = occ_config.parse(text, where, registry.UPSTREAM_DEFAULT)
    for name in cfg.collectors:
        for key, option in registry.get(name).options.items():
            value = getattr(args, f"section__{name}__{key}", None)
            if value is not None:
                cfg.settings[name][key] = _parse_flag(name, key, value, option)
    cachedir = args.cachedir or cfg.cachedir or DEFAULT_CACHEDIR
    settings = Settings(
        command=args.command if args.command is not None else cfg.command,
        cachedir=cachedir,
        backup_cachedir=args.backup_cachedir or cfg.backup_cachedir or DEFAULT_BACKUP_CACHEDIR,
        polling_interval=args.polling_interval or cfg.polling_interval,
        min_polling_interval=args.min_polling_interval or cfg.min_polling_interval,
        splay=_first(args.splay, cfg.splay, DEFAULT_SPLAY),
        one_time=bool(args.one_time), force=bool(args.force), print_only=bool(args.print_only),
        deployment_keys=args.deployment_key or cfg.deployment_key,
        config_files=list(files),
        # hashed from the bytes parsed, so an edit made after reading is seen as a change
        config_digest=hashlib.md5(b"".join(raw), usedforsecurity=False).hexdigest(),
    )
    return settings, registry.build(cfg.collectors, cfg.settings, cachedir=cachedir)


def _parse_flag(section: str, key: str, value: Any, option: Any) -> Any:
    values = value if isinstance(value, list) else [value]
    try:
        parsed = [option.parse(v) for v in values]
    except ValueError as exc:
        raise ConfigError(f"--{section}-{key.replace('_', '-')} {values[-1]!r}: {exc}") from None
    return parsed if option.multi else parsed[-1]


def _without_collectors(text: str) -> str:
    out, section = [], "DEFAULT"
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("["):
            section = stripped.strip("[]").strip()
        elif section == "DEFAULT" and stripped.lower().replace(" ", "").startswith(("collectors=", "collectors:")):
            continue
        out.append(line)
    return "\n".join(out)


def _first(*values: Any) -> Any:
    return next(v for v in values if v is not None)


def _setup_logging(debug: bool, log_file: str | None) -> None:
    handler: logging.Handler = logging.FileHandler(log_file) if log_file else logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s os-collect-config %(levelname)s %(message)s"))
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "_occ", False)]:
        root.removeHandler(old)
    handler._occ = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if debug else logging.INFO)


def _seconds(text: str) -> float:
    value = _seconds_or_zero(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be greater than 0")
    return value


def _seconds_or_zero(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} must not be negative")
    return value


if __name__ == "__main__":
    sys.exit(main())
