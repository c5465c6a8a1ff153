"""Evaluation: score matching decisions against ground truth.

Every request gets exactly one outcome (:class:`Outcome`); :func:`evaluate` turns outcomes into
counts, rates with Wilson intervals (:func:`wilson_interval`) and breakdowns by name origin,
sex, twin status and error type; :func:`pair_metrics` scores predicted links pairwise, and
:func:`cluster_metrics` scores a deduplication's clusters against true entities, and
:func:`reliability` says whether match probabilities mean what they say.
"""

from __future__ import annotations

from matchsim.evaluation.breakdowns import (
    DEFAULT_BREAKDOWNS,
    ERROR_TYPES_BREAKDOWN,
    NO_ERROR_GROUP,
)
from matchsim.evaluation.calibration import Reliability, reliability
from matchsim.evaluation.clusters import cluster_metrics
from matchsim.evaluation.intervals import wilson_interval, wilson_intervals
from matchsim.evaluation.outcomes import OUTCOME_DTYPE, OUTCOMES, Outcome, classify, evaluate
from matchsim.evaluation.pairs import pair_metrics
from matchsim.evaluation.rates import RATES, Evaluation, Rate, RateDefinition

__all__ = [
    "DEFAULT_BREAKDOWNS",
    "ERROR_TYPES_BREAKDOWN",
    "NO_ERROR_GROUP",
    "OUTCOMES",
    "OUTCOME_DTYPE",
    "RATES",
    "Evaluation",
    "Outcome",
    "Rate",
    "RateDefinition",
    "Reliability",
    "classify",
    "cluster_metrics",
    "evaluate",
    "pair_metrics",
    "reliability",
    "wilson_interval",
    "wilson_intervals",
]
