"""``mlc_llm chat``: an interactive chat with a compiled model (no engine in this build)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any


def add_parser(sub: Any) -> None:
    """Add the ``chat`` subcommand to the subparsers ``sub``."""
    parser = sub.add_parser(
        "chat",
        help="Chat with a compiled model in the terminal.",
        description="Chat with a compiled model in the terminal.",
    )
    parser.add_argument(
        "model",
        nargs="?",
        help="A model directory with mlc-chat-config.json, or an HF:// or preset name.",
    )
    parser.add_argument("--device", default="auto", help="Device, e.g. cuda, vulkan:0, auto.")
    parser.add_argument("--model-lib", default=None, help="Compiled model library (.so).")
    parser.add_argument(
        "--overrides", default="", help="Config overrides, e.g. context_window_size=4096."
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``chat``: this build checks its inputs and then stops with a clear error."""
    from .. import base

    if not args.model:
        print(
            "mlc_llm chat: error: no model given. Usage: mlc_llm chat MODEL "
            "(a directory with mlc-chat-config.json)",
            file=sys.stderr,
        )
        return 2
    config = Path(args.model) / "mlc-chat-config.json"
    if not config.is_file():
        print(f"mlc_llm chat: error: {config} not found", file=sys.stderr)
        return 2
    print(
        f"mlc_llm chat: error: this build ({', '.join(base.backends())}) has no inference "
        "engine; it cannot run models",
        file=sys.stderr,
    )
    return 1
