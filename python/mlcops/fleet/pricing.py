"""A small price table for dry runs and cost lines; override it with ``--prices FILE``.

The numbers are us-east-1 Linux on-demand list prices (USD per hour) at the time of writing; the
spot figure is an estimate (a fixed share of on-demand) unless the table gives one. They exist so
that a dry run says what a launch costs: they are never used to decide anything.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from mlcops.errors import UsageError

SPOT_SHARE = 0.4  # rough spot price as a share of on-demand, when the table has no spot figure

ON_DEMAND_USD_PER_HOUR: dict[str, float] = {
    "g4dn.xlarge": 0.526,
    "g4dn.2xlarge": 0.752,
    "g4dn.4xlarge": 1.204,
    "g4dn.12xlarge": 3.912,
    "g5.xlarge": 1.006,
    "g5.2xlarge": 1.212,
    "g5.4xlarge": 1.624,
    "g5.12xlarge": 5.672,
    "g5.48xlarge": 16.288,
    "g6.xlarge": 0.805,
    "g6.2xlarge": 0.978,
    "g6.12xlarge": 4.602,
    "g6e.xlarge": 1.861,
    "p3.2xlarge": 3.06,
    "p4d.24xlarge": 32.773,
    "p5.48xlarge": 98.32,
    "c7i.4xlarge": 0.714,
    "m7i.2xlarge": 0.403,
}


@dataclass(frozen=True)
class Price:
    """Hourly price of one instance type."""

    on_demand: float
    spot: float

    def hourly(self, *, spot: bool) -> float:
        """USD per hour of one instance."""
        return self.spot if spot else self.on_demand


class PriceTable:
    """Instance type -> price, the built-in table overlaid with a file's entries."""

    def __init__(self, entries: dict[str, Price] | None = None) -> None:
        """Start from the built-in table, then apply ``entries``."""
        self._prices = {
            name: Price(value, round(value * SPOT_SHARE, 4))
            for name, value in ON_DEMAND_USD_PER_HOUR.items()
        }
        self._prices.update(entries or {})

    def get(self, instance_type: str) -> Price | None:
        """Return the price of an instance type, or None when the table does not know it."""
        return self._prices.get(instance_type)

    def hourly(self, instance_type: str, *, spot: bool, count: int = 1) -> float | None:
        """USD per hour of ``count`` instances, or None when unknown."""
        price = self.get(instance_type)
        return None if price is None else round(price.hourly(spot=spot) * count, 4)

    @classmethod
    def load(cls, path: Path | None) -> PriceTable:
        """Load overrides from a JSON or YAML mapping.

        Each entry is ``TYPE: 1.23`` (on-demand; spot estimated) or
        ``TYPE: {on_demand: 1.23, spot: 0.5}``.

        Raises:
            UsageError: The file cannot be read or has the wrong shape.

        """
        if path is None:
            return cls()
        try:
            text = path.read_text()
        except OSError as exc:
            raise UsageError(f"--prices {path}: {exc.strerror}") from None
        try:
            data: Any = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
        except (ValueError, yaml.YAMLError):
            raise UsageError(f"--prices {path}: not valid JSON/YAML") from None
        if not isinstance(data, dict):
            raise UsageError(f"--prices {path}: expected a mapping of instance type to price")
        entries: dict[str, Price] = {}
        for name, value in data.items():
            entries[str(name)] = _price(path, str(name), value)
        return cls(entries)


def _price(path: Path, name: str, value: Any) -> Price:
    if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0:
        return Price(float(value), round(float(value) * SPOT_SHARE, 4))
    if isinstance(value, dict) and isinstance(value.get("on_demand"), int | float):
        on_demand = float(value["on_demand"])
        spot = value.get("spot", on_demand * SPOT_SHARE)
        if isinstance(spot, int | float) and on_demand >= 0 and spot >= 0:
            return Price(on_demand, float(spot))
    raise UsageError(
        f"--prices {path}: {name}: expected a number or {{on_demand: N, spot: N}} (USD per hour)"
    )


def money(value: float | None) -> str:
    """Format USD per hour, ``?`` when unknown."""
    return "?" if value is None else f"${value:,.3f}/h"
