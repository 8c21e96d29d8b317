"""The ``mlc_llm`` command line: ``python -m mlc_llm <subcommand>``.

Only ``chat`` exists: this build has no model compiler, so ``compile`` is an unknown
subcommand and exits non-zero.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from . import __version__


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mlc_llm",
        description=f"mini-mlc-llm {__version__}: the shape of MLC-LLM's command line.",
    )
    parser.add_argument("--version", action="version", version=__version__)
    sub = parser.add_subparsers(dest="subcommand", metavar="subcommand", required=True)

    from .cli import chat

    chat.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    parser = _build_parser()
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
