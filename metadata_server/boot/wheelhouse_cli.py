"""`stoker wheelhouse`: gather the agent's wheels into a server's state directory now (at install
time, where an index is reachable), instead of at the first SOFTWARE_CONFIG server."""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

WHEELHOUSE_DIR = "wheelhouse"   # under the server's --state-dir


def register(subparsers, name: str, help_text: str) -> None:
    parser = subparsers.add_parser(
        name, help=help_text,
        description="Gather the wheels a stock image needs to install stoker's agent from this "
        "server: the running stoker as a wheel, pip, and the agent's dependencies for CPython "
        "3.9-3.13 on x86_64 and aarch64 glibc Linux. `stoker server` serves them at "
        "PUBLIC_URL/wheelhouse/ and pins their hashes in the user_data it writes.",
        epilog="Without --index-url or --find-links, the wheels come from PyPI (or from "
        "STOKER_WHEELHOUSE_INDEX_URL / STOKER_WHEELHOUSE_FIND_LINKS).")
    parser.add_argument("--state-dir", required=True, metavar="DIR",
                        help="the server's state directory; wheels go to DIR/wheelhouse")
    parser.add_argument("--index-url", metavar="URL", help="package index to download from")
    parser.add_argument("--find-links", action="append", default=[], metavar="LOCATION",
                        help="also look here (a directory or URL of wheels); repeatable")
    parser.add_argument("--no-index", action="store_true",
                        help="use --find-links locations only")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import logging

    from metadata_server.boot.agent_wheel import AgentWheelError
    from metadata_server.boot.wheelhouse import Sources, Wheelhouse, WheelhouseError

    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s stoker-wheelhouse %(levelname)s %(message)s")
    sources = Sources.from_env(os.environ)
    if args.index_url or args.find_links or args.no_index:
        sources = Sources(args.index_url, tuple(args.find_links), args.no_index)
    if sources.no_index and not sources.find_links:
        print("stoker wheelhouse: --no-index needs at least one --find-links", file=sys.stderr)
        return 2
    state_dir = Path(args.state_dir)
    try:
        state_dir.mkdir(parents=True, exist_ok=True)
        manifest = Wheelhouse(state_dir / WHEELHOUSE_DIR, sources).ensure()
    except (WheelhouseError, AgentWheelError, OSError) as exc:
        print(f"stoker wheelhouse: {exc}", file=sys.stderr)
        return 1
    print(f"{len(manifest['files'])} wheels for {', '.join(manifest['targets'])} in "
          f"{state_dir / WHEELHOUSE_DIR}")
    return 0
