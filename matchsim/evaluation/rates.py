"""The rates an evaluation reports, and the :class:`Evaluation` that holds them.

Every rate is a binomial proportion of two request subsets (:data:`RATES`), carried with its
Wilson score interval (:mod:`matchsim.evaluation.intervals`). A rate whose denominator is zero
(e.g. no request outside the register) has value NaN and interval (0, 1);
:meth:`Evaluation.as_dict` writes NaN as ``None`` so the result is valid JSON.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from matchsim.evaluation.intervals import wilson_intervals

__all__ = ["RATES", "Evaluation", "Rate", "RateDefinition", "json_float", "rate_columns"]


@dataclass(frozen=True)
class RateDefinition:
    """A rate as the share of requests in ``denominator`` that are also in ``numerator``.


    Both name request subsets (the keys :func:`matchsim.evaluation.outcomes.evaluate` counts:
    ``all``, ``in_register``, ``returned``, one per outcome, ...); the numerator is always a
    subset of the denominator, so every rate is a binomial proportion.
    """

    numerator: str
    denominator: str
    description: str


#: Every rate :func:`evaluate` reports, in display order.
RATES: Mapping[str, RateDefinition] = {
    "false_match_rate": RateDefinition(
        "false_match", "all", "requests returning a child who was not requested"
    ),
    "false_match_rate_in_register": RateDefinition(
        "false_match_in_register", "in_register", "false matches when the person is registered"
    ),
    "false_match_rate_not_in_register": RateDefinition(
        "false_match_not_in_register",
        "not_in_register",
        "false matches when the person is not registered",
    ),
    "false_match_share_of_returned": RateDefinition(
        "false_match", "returned", "answers that included a child who was not requested"
    ),
    "correct_match_rate": RateDefinition(
        "correct_match", "in_register", "registered people returned alone and correctly"
    ),
    "missed_match_rate": RateDefinition(
        "missed_match", "in_register", "registered people for whom nothing was returned"
    ),
    "correct_non_match_rate": RateDefinition(
        "correct_non_match", "not_in_register", "unregistered people for whom nothing was returned"
    ),
    "returned_rate": RateDefinition("returned", "all", "requests that returned any record"),
    "ambiguous_rate": RateDefinition("ambiguous", "all", "requests the matcher flagged ambiguous"),
}


@dataclass(frozen=True)
class Rate:
    """A proportion ``numerator / denominator`` with its Wilson interval ``[low, high]``.

    ``value`` is NaN (and the interval (0, 1)) when the denominator is zero.
    """

    value: float
    low: float
    high: float
    numerator: int
    denominator: int

    def as_dict(self) -> dict[str, float | int | None]:
        """Plain, JSON-serialisable form; NaN becomes ``None``."""
        return {
            "value": json_float(self.value),
            "low": json_float(self.low),
            "high": json_float(self.high),
            "numerator": self.numerator,
            "denominator": self.denominator,
        }


@dataclass(frozen=True, eq=False)  # eq=False: DataFrames do not compare to a single bool
class Evaluation:
    """Outcomes of a set of decisions, scored against ground truth.

    Attributes
    ----------
    per_request
        One row per request, in the order of ``truth``: ``request_id``, ``outcome``
        (categorical, :data:`OUTCOMES`), ``ambiguous``, ``in_register``, ``returned_count``
        (distinct ids returned), then one column per breakdown. The ``error_types`` column
        holds the distinct error types the request carries, sorted and joined by ";" (``""``
        when it carries none).
    counts
        Outcome name -> number of requests, for all four outcomes (in :data:`OUTCOMES` order).
    rates
        Rate name (the keys of :data:`RATES`) -> :class:`Rate`.
    breakdown
        Tidy frame, one row per (``group_by``, ``group``): ``requests``, ``in_register``
        (requests whose person is registered), and for each rate ``<rate>``,
        ``<rate>_low``, ``<rate>_high``. Groups are labelled by strings (``"<NA>"`` for a
        missing value). The ``error_types`` groups overlap: a request is counted once in the
        group of every error type it carries, and requests carrying none form the group
        ``"none"``, so their ``requests`` add up to more than the number of requests.
    confidence
        Confidence level of every interval.
    breakdowns
        The breakdowns asked for, in order.
    """

    per_request: pd.DataFrame
    counts: dict[str, int]
    rates: dict[str, Rate]
    breakdown: pd.DataFrame
    confidence: float = 0.95
    breakdowns: tuple[str, ...] = field(default=())

    @property
    def requests(self) -> int:
        """Number of requests evaluated."""
        return len(self.per_request)

    def as_dict(self) -> dict[str, Any]:
        """Nested, JSON-serialisable summary (NaN written as ``None``), e.g. for metrics.json.

        Keys: ``requests``, ``in_register``, ``confidence``, ``counts``, ``rates`` (name ->
        value, low, high, numerator, denominator) and ``breakdown`` (group_by -> group ->
        ``requests``, ``in_register`` and ``rates``: name -> value, low, high).
        """
        breakdown: dict[str, dict[str, Any]] = {}
        for row in self.breakdown.to_dict("records"):
            breakdown.setdefault(str(row["group_by"]), {})[str(row["group"])] = {
                "requests": int(row["requests"]),
                "in_register": int(row["in_register"]),
                "rates": {
                    name: {
                        "value": json_float(row[name]),
                        "low": json_float(row[f"{name}_low"]),
                        "high": json_float(row[f"{name}_high"]),
                    }
                    for name in RATES
                },
            }
        return {
            "requests": self.requests,
            "in_register": int(self.per_request["in_register"].sum()),
            "confidence": float(self.confidence),
            "counts": {name: int(count) for name, count in self.counts.items()},
            "rates": {name: rate.as_dict() for name, rate in self.rates.items()},
            "breakdown": breakdown,
        }

    def summary_table(self) -> pd.DataFrame:
        """One row per rate, indexed by its name, for display.

        Columns: ``description``, ``numerator``, ``denominator``, ``value``, ``low``, ``high``.
        """
        rows = [
            {
                "rate": name,
                "description": RATES[name].description,
                "numerator": rate.numerator,
                "denominator": rate.denominator,
                "value": rate.value,
                "low": rate.low,
                "high": rate.high,
            }
            for name, rate in self.rates.items()
        ]
        return pd.DataFrame(rows).set_index("rate")


def json_float(value: float) -> float | None:
    value = float(value)
    return None if math.isnan(value) else value


def rate_columns(counts: Mapping[str, np.ndarray], confidence: float) -> dict[str, np.ndarray]:
    """Per-group counts of each subset -> value, low and high of every rate."""
    out: dict[str, np.ndarray] = {}
    for name, rate in RATES.items():
        num, den = counts[rate.numerator], counts[rate.denominator]
        low, high = wilson_intervals(num, den, confidence)
        with np.errstate(invalid="ignore", divide="ignore"):
            out[name] = np.where(den > 0, num / np.maximum(den, 1), np.nan)
        out[f"{name}_low"], out[f"{name}_high"] = low, high
    return out
