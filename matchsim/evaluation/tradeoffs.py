"""What another threshold or decision rule would have done, from ground truth.

:func:`threshold_tradeoffs` gives, for every threshold at which an outcome can change, the
outcomes each decision policy (``unique``, ``best``, ``all``; see :mod:`matchsim.decision`)
would have produced from the same scored candidate pairs: false-match and missed-match rates,
and the precision and recall of the links returned.

Each request's outcome is a step function of the threshold t, fixed by a few scores: its top
candidate's score s1, the next distinct record's s2, its best wrong candidate's and its true
record's. So every count is a number of requests with some score ``>= t``, found by one
binary search per threshold over sorted scores: no per-threshold re-decision, and a million
requests take well under a second. The test suite checks the result against
:func:`matchsim.decision.decide` run at each threshold.

:func:`per_10000` turns a rate and its interval into "per 10,000 requests".
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from matchsim.errors import ConfigError

__all__ = ["TRADEOFF_POLICIES", "per_10000", "threshold_tradeoffs"]

#: The decision policies compared (``one_to_one`` depends on other requests' answers, so it
#: is not a function of each request's own scores).
TRADEOFF_POLICIES = ("unique", "best", "all")


def per_10000(value: float, low: float, high: float) -> tuple[float, float, float]:
    """A rate and its interval as counts per 10,000 requests."""
    return 1e4 * value, 1e4 * low, 1e4 * high


def _at_least(values: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """For each threshold t, how many of ``values`` are >= t (NaN never is)."""
    ordered = np.sort(values[~np.isnan(values)])
    return len(ordered) - np.searchsorted(ordered, thresholds, side="left")


def _request_scores(
    pair_request: np.ndarray,
    pair_record: np.ndarray,
    scores: np.ndarray,
    true_record: np.ndarray,
    n: int,
) -> dict[str, np.ndarray]:
    """Per request: s1, s2, whether the top record is the true one, the best wrong and the
    true record's score (NaN where absent), and every wrong record's best score."""
    frame = pd.DataFrame({"req": pair_request, "rec": pair_record, "score": scores})
    frame = frame.groupby(["req", "rec"], sort=False, as_index=False)["score"].max()
    frame = frame.sort_values(["req", "score"], ascending=[True, False], kind="stable")
    req = frame["req"].to_numpy()
    rec = frame["rec"].to_numpy()
    sc = frame["score"].to_numpy(dtype=np.float64)
    is_true = rec == true_record[req]
    first = np.r_[True, req[1:] != req[:-1]] if len(req) else np.zeros(0, dtype=bool)
    rank = np.arange(len(req)) - np.maximum.accumulate(np.where(first, np.arange(len(req)), 0))
    s1 = np.full(n, np.nan)
    s2 = np.full(n, np.nan)
    s1[req[rank == 0]] = sc[rank == 0]
    s2[req[rank == 1]] = sc[rank == 1]
    top_true = np.zeros(n, dtype=bool)
    top_true[req[rank == 0]] = is_true[rank == 0]
    # A tie at the top: the top record is not decided by the score (never returned by unique
    # or best; both come back under all).
    tied = s1 == s2
    true_score = np.full(n, np.nan)
    true_score[req[is_true]] = sc[is_true]
    wrong = ~is_true
    best_wrong = np.full(n, np.nan)
    w_req, w_sc = req[wrong], sc[wrong]
    w_first = np.r_[True, w_req[1:] != w_req[:-1]] if len(w_req) else np.zeros(0, dtype=bool)
    best_wrong[w_req[w_first]] = w_sc[w_first]  # sorted by descending score within a request
    # Wrong records at the top score (for tiered matchers, which return only the top tier).
    wrong_at_top = np.zeros(n, dtype=bool)
    wrong_at_top[req[wrong & (sc == s1[req])]] = True
    return {
        "s1": s1,
        "s2": s2,
        "top_true": top_true,
        "tied": tied,
        "true_score": true_score,
        "best_wrong": best_wrong,
        "wrong_at_top": wrong_at_top,
        "wrong_scores": w_sc,
        "wrong_top_scores": w_sc[w_sc == s1[w_req]],
    }


def threshold_tradeoffs(
    pair_request: np.ndarray,
    pair_record: np.ndarray,
    scores: np.ndarray,
    true_record: np.ndarray,
    *,
    thresholds: Sequence[float] | np.ndarray | None = None,
    policies: Sequence[str] = TRADEOFF_POLICIES,
    tiered: bool = False,
) -> pd.DataFrame:
    """Outcomes of every decision policy at every threshold.

    Parameters
    ----------
    pair_request
        For each scored candidate pair, its request's position ``0..n-1``.
    pair_record
        For each pair, the register id of its record (ids may repeat within a request, one row
        per historical address; a record counts once, at its best score).
    scores
        Each pair's score.
    true_record
        For each of the ``n`` requests, the register id of the person asked about, or -1 when
        they are not in the register. Requests without candidates count too.
    thresholds
        Where to evaluate; default every distinct score (where outcomes change) and 0.
    policies
        Any of :data:`TRADEOFF_POLICIES`.
    tiered
        The matcher ranks by tiers (a cascade): ``all`` returns only the top tier.

    Returns
    -------
    pandas.DataFrame
        One row per (policy, threshold): ``correct_match``, ``false_match``,
        ``missed_match``, ``correct_non_match`` (counts), ``false_match_rate`` (of all
        requests), ``missed_match_rate`` (of requests whose person is registered), ``precision``
        and ``recall`` of the returned links (precision NaN where nothing is returned).

    Examples
    --------
    Three requests: the first's person is record 7, the second is not registered, and the
    third's person (record 4) is not among its candidates.

    >>> from matchsim.evaluation.tradeoffs import threshold_tradeoffs
    >>> table = threshold_tradeoffs(
    ...     pair_request=[0, 0, 1, 2], pair_record=[7, 8, 9, 5], scores=[0.9, 0.6, 0.7, 0.3],
    ...     true_record=[7, -1, 4], thresholds=[0.5, 0.8], policies=["unique", "all"])
    >>> columns = ["policy", "threshold", "correct_match", "false_match", "missed_match", "recall"]
    >>> print(table[columns].to_string())
       policy  threshold  correct_match  false_match  missed_match  recall
    0  unique        0.5              0            1             2     0.0
    1  unique        0.8              1            0             1     0.5
    2     all        0.5              0            2             1     0.5
    3     all        0.8              1            0             1     0.5
    """
    pair_request = np.asarray(pair_request, dtype=np.int64)
    pair_record = np.asarray(pair_record, dtype=np.int64)
    scores = np.asarray(scores, dtype=np.float64)
    true_record = np.asarray(true_record, dtype=np.int64)
    if not len(pair_request) == len(pair_record) == len(scores):
        raise ConfigError("scores", "pair_request, pair_record and scores must be equally long")
    n = len(true_record)
    if len(pair_request) and (pair_request.min() < 0 or pair_request.max() >= n):
        raise ConfigError("pair_request", f"positions must be in 0..{n - 1}")
    unknown = sorted(set(policies) - set(TRADEOFF_POLICIES))
    if unknown:
        raise ConfigError(
            "policies", f"{unknown[0]!r} is not one of {', '.join(TRADEOFF_POLICIES)}"
        )
    if thresholds is None:
        thresholds = np.unique(np.r_[0.0, scores[np.isfinite(scores)]])
    t = np.asarray(thresholds, dtype=np.float64)
    r = _request_scores(pair_request, pair_record, scores, true_record, n)
    in_register = true_record >= 0
    n_in = int(in_register.sum())
    s1, s2 = r["s1"], r["s2"]

    def where(mask: np.ndarray, values: np.ndarray) -> np.ndarray:
        return np.where(mask, values, np.nan)

    frames = []
    for policy in policies:
        if policy == "all":
            if tiered:
                # Only the top tier is returned: false if a wrong record shares the top score.
                false = _at_least(where(r["wrong_at_top"], s1), t)
                correct = _at_least(where(~r["wrong_at_top"] & (r["true_score"] == s1), s1), t)
                wrong_links = _at_least(r["wrong_top_scores"], t)
                true_links = _at_least(where(r["true_score"] == s1, s1), t)
            else:
                false = _at_least(r["best_wrong"], t)
                # Correct: the true record clears the bar and no wrong one does.
                correct = _at_least(r["true_score"], t) - _at_least(
                    np.minimum(r["true_score"], r["best_wrong"]), t
                )
                wrong_links = _at_least(r["wrong_scores"], t)
                true_links = _at_least(r["true_score"], t)
        else:
            # One record at most, the top one, returned when it clears the bar alone (unique:
            # no other record over the bar; best: not tied with another).
            # A tiered matcher keeps only the top tier, so unique there is best.
            top, lower = s1, s2
            decided = ~r["tied"]
            top_wrong, top_true = decided & ~r["top_true"], decided & r["top_true"]
            if policy == "unique" and not tiered:
                # returned iff s2 < t <= s1: #(s1 >= t) - #(s2 >= t)
                false = _at_least(where(top_wrong, top), t) - _at_least(where(top_wrong, lower), t)
                correct = _at_least(where(top_true, top), t) - _at_least(where(top_true, lower), t)
            else:
                false = _at_least(where(top_wrong, top), t)
                correct = _at_least(where(top_true, top), t)
            wrong_links, true_links = false, correct
        returned_nothing = n - _at_least(s1, t)
        if policy in ("unique", "best"):
            returned_nothing = n - false - correct
        false_in = false - _false_outside(policy, r, in_register, t, tiered)
        missed = n_in - correct - false_in
        non = returned_nothing - missed
        with np.errstate(invalid="ignore", divide="ignore"):
            precision = np.where(
                true_links + wrong_links > 0,
                true_links / np.maximum(true_links + wrong_links, 1),
                np.nan,
            )
        frames.append(
            pd.DataFrame(
                {
                    "policy": policy,
                    "threshold": t,
                    "correct_match": correct,
                    "false_match": false,
                    "missed_match": missed,
                    "correct_non_match": non,
                    "false_match_rate": false / n if n else np.nan,
                    "missed_match_rate": missed / n_in if n_in else np.nan,
                    "precision": precision,
                    "recall": true_links / n_in if n_in else np.nan,
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def _false_outside(
    policy: str, r: dict[str, np.ndarray], in_register: np.ndarray, t: np.ndarray, tiered: bool
) -> np.ndarray:
    """False matches among requests whose person is not registered (every record returned
    to them is wrong)."""
    out = ~in_register
    s1, s2 = r["s1"], r["s2"]
    if policy == "all":
        return _at_least(np.where(out, s1, np.nan), t)  # anything returned is wrong
    decided = out & ~r["tied"]
    if policy == "unique" and not tiered:
        return _at_least(np.where(decided, s1, np.nan), t) - _at_least(
            np.where(decided, s2, np.nan), t
        )
    return _at_least(np.where(decided, s1, np.nan), t)
