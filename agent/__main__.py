"""`python -m agent ...`: the same as `stoker agent ...`, without the server's entry point."""
from __future__ import annotations

import argparse
import sys

from agent.cli import DESCRIPTION, EPILOG, add_arguments


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m agent", description=DESCRIPTION, epilog=EPILOG,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(parser)
    args = parser.parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
