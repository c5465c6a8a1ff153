"""What an attacker knows, and how a guess is scored: shared by every attack.

The attacker's knowledge is always an explicit argument, never read from the register behind
the attack's back:

* ``register`` — the register's own value frequencies (the worst case: the attacker holds the
  very population that was encoded, e.g. a leaked copy);
* ``public`` — a published list, e.g. the ONS first-name counts for other years, or an
  independent population;
* an ``overlap`` share in between (:func:`overlap_list`): a share of the register's records
  plus the rest from an outside list, as in the overlap experiments of Vidanage, Ranbaduge,
  Christen & Schnell (2019, 2020) and Armknecht, Heng & Schnell (PoPETS 2022).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TypedDict

import numpy as np
import pandas as pd

from matchsim.errors import ConfigError
from matchsim.evaluation.intervals import wilson_interval


class AttackLabels(TypedDict):
    """Which encoding an attack ran on and with what knowledge: the labels of its outcome."""

    field: str
    hardening: str
    knowledge: str


@dataclass(frozen=True)
class AttackOutcome:
    """What one attack recovered, with 95% Wilson intervals on the shares."""

    attack: str
    field: str
    hardening: str
    knowledge: str
    records: int
    #: share of records whose guessed value is their true value
    records_share: float
    records_interval: tuple[float, float]
    #: distinct true values (among those of attacked records) guessed right for their commonest
    #: encoding
    values: int
    values_share: float
    values_interval: tuple[float, float]
    seconds: float
    detail: dict[str, object]

    def as_dict(self) -> dict[str, object]:
        out = asdict(self)
        out["records_interval"] = list(self.records_interval)
        out["values_interval"] = list(self.values_interval)
        return out


def score(
    attack: str,
    guesses: np.ndarray,
    truth: np.ndarray,
    *,
    field: str,
    hardening: str,
    knowledge: str,
    seconds: float,
    detail: dict[str, object] | None = None,
) -> AttackOutcome:
    """Score per-record guesses (value codes; -1 none) against the true codes (>= 0).

    A value counts as re-identified when the guess for most of its records is right: what an
    attacker who publishes a list of decoded names would get right.
    """
    guesses = np.asarray(guesses, dtype=np.int64)
    truth = np.asarray(truth, dtype=np.int64)
    n = len(truth)
    correct = (guesses == truth) & (truth >= 0)
    hits = int(correct.sum())
    if n:
        per_value = pd.Series(correct).groupby(truth).mean()
        values = len(per_value)
        value_hits = int((per_value > 0.5).sum())
    else:
        values = value_hits = 0
    return AttackOutcome(
        attack=attack,
        field=field,
        hardening=hardening,
        knowledge=knowledge,
        records=n,
        records_share=hits / n if n else 0.0,
        records_interval=wilson_interval(hits, n),
        values=values,
        values_share=value_hits / values if values else 0.0,
        values_interval=wilson_interval(value_hits, values),
        seconds=seconds,
        detail=detail or {},
    )


def value_counts(texts: np.ndarray, codes: np.ndarray) -> pd.Series:
    """The register's own value frequencies (``register`` knowledge): value -> records."""
    codes = np.asarray(codes, dtype=np.int64)
    counts = np.bincount(codes[codes >= 0], minlength=len(texts))
    out = pd.Series(counts, index=pd.Index(np.asarray(texts, dtype=object)))
    out = out[(out > 0) & (out.index != "")]
    # Ties in alphabetical order, as a published list gives them: never the register's own
    # order, which would leak which filter is which to a tie-breaking attack.
    return out.sort_index().sort_values(ascending=False, kind="stable")


def overlap_list(
    register: pd.Series, outside: pd.Series, overlap: float, seed: int = 0
) -> pd.Series:
    """An attacker's list holding a share ``overlap`` of the register's records and, for the
    rest, records drawn from ``outside`` (value -> count): same size as the register.

    ``overlap = 1`` is the register's own frequencies; ``overlap = 0`` is the outside list
    scaled to the register's size. Records are drawn without replacement from each list.
    """
    if not 0.0 <= overlap <= 1.0:
        raise ConfigError("overlap", f"{overlap!r} is not a share in [0, 1]")
    rng = np.random.default_rng([seed, 0x0FE1])
    total = int(register.sum())
    inside = round(overlap * total)

    def draw(counts: pd.Series, size: int) -> pd.Series:
        size = min(size, int(counts.sum()))
        if size <= 0:
            return pd.Series(dtype=np.int64)
        picked = rng.multivariate_hypergeometric(counts.to_numpy(np.int64), size)
        return pd.Series(picked, index=counts.index)

    both = pd.concat([draw(register, inside), draw(outside, total - inside)])
    both = both.groupby(level=0).sum()
    return both[both > 0].sort_values(ascending=False, kind="stable")


__all__ = ["AttackLabels", "AttackOutcome", "overlap_list", "score", "value_counts"]
