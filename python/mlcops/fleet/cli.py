"""The ``mlcops fleet`` subcommands."""

from __future__ import annotations

import argparse
from typing import Any


def add_parser(sub: argparse._SubParsersAction[Any]) -> None:
    """Register ``mlcops fleet`` and its actions on the top-level subparsers."""
    p_fleet = sub.add_parser("fleet", help="EC2 GPU runner fleets")
    p_fleet.add_subparsers(dest="action", required=True, metavar="ACTION")
