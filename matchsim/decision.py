"""Decision policies: from scored candidate pairs to one answer per request.

* ``unique`` returns a record only when exactly one candidate clears the bar ("only if there
  is a clear match");
* ``best`` returns the top candidate;
* ``all`` returns every candidate over the bar;
* ``one_to_one`` links each record on either side at most once: pairs over the bar are taken
  by descending score while neither record is taken (see :func:`matchsim.clustering.one_to_one`),
  for two tables that each hold an entity at most once.

A request is **ambiguous** when several distinct records clear the bar, or the top score is
tied. Right-hand ids may repeat (one row per historical address); a record counts once, at its
best score.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from matchsim.clustering import one_to_one
from matchsim.errors import ConfigError, UnknownNameError

POLICIES = ("unique", "best", "all", "one_to_one")
#: What each policy returns (``matchsim list`` and the scenario reference show these).
POLICY_DESCRIPTIONS = {
    "unique": "A record only when exactly one candidate clears the threshold (a clear match); "
    "nothing when several do or the top score is tied.",
    "best": "The top-scoring candidate over the threshold; ties are flagged ambiguous.",
    "all": "Every candidate over the threshold.",
    "one_to_one": "Each record on either side in at most one returned link: pairs over the "
    "threshold taken greedily, best score first.",
}


def decide(
    left_ids: np.ndarray,
    pair_left: np.ndarray,
    pair_right_id: np.ndarray,
    scores: np.ndarray,
    threshold: float,
    policy: str = "unique",
    *,
    tiered: bool = False,
) -> pd.DataFrame:
    """One row per left record: ``returned`` (list of right ids), ``ambiguous``,
    ``candidates`` (distinct records over the bar) and ``best_score``.

    ``pair_left`` indexes ``left_ids``; ``tiered`` keeps, per request, only the candidates in
    its best-scoring tier (for cascades, whose score is the rule that fired).

    Examples
    --------
    >>> import numpy as np
    >>> from matchsim.decision import decide
    >>> left_ids = np.array([1, 2, 3])
    >>> pair_left = np.array([0, 0, 1, 1])  # positions in left_ids
    >>> pair_right_id = np.array([7, 8, 9, 10])
    >>> scores = np.array([0.95, 0.4, 0.8, 0.8])
    >>> print(decide(left_ids, pair_left, pair_right_id, scores, threshold=0.5).to_string())
       left_id returned  ambiguous  candidates  best_score
    0        1      [7]      False           1        0.95
    1        2       []       True           2        0.80
    2        3       []      False           0         NaN
    >>> every = decide(left_ids, pair_left, pair_right_id, scores, threshold=0.5, policy="all")
    >>> [[int(i) for i in ids] for ids in every["returned"]]
    [[7], [9, 10], []]
    """
    if policy not in POLICIES:
        raise UnknownNameError("decision", str(policy), POLICIES)
    if (
        isinstance(threshold, bool)
        or not isinstance(threshold, int | float)
        or threshold != threshold
    ):
        raise ConfigError("threshold", f"must be a number. Got {threshold!r} instead.")
    n = len(left_ids)
    over = scores >= threshold
    pl, pr, ps = pair_left[over], pair_right_id[over], scores[over]
    # One entry per (request, record) at its best score.
    frame = pd.DataFrame({"left": pl, "right": pr, "score": ps})
    frame = frame.groupby(["left", "right"], sort=False, as_index=False)["score"].max()
    best = frame.groupby("left")["score"].transform("max")
    if tiered:
        frame = frame[frame["score"] == best]
        best = best[frame.index]
    at_top = frame["score"] == best
    counts = np.bincount(frame["left"].to_numpy(), minlength=n)
    top_counts = np.bincount(frame.loc[at_top, "left"].to_numpy(), minlength=n)
    best_score = np.full(n, np.nan)
    grouped_best = frame.groupby("left")["score"].max()
    best_score[grouped_best.index.to_numpy()] = grouped_best.to_numpy()

    if policy == "all":
        chosen = frame
    elif policy == "one_to_one":
        # Ties go to the earlier request, then to the smaller right id.
        right_codes, distinct_right = pd.factorize(frame["right"], sort=True)
        keep = one_to_one(
            frame["left"].to_numpy(),
            right_codes,
            frame["score"].to_numpy(),
            n,
            len(distinct_right),
        )
        chosen = frame[keep]
    elif policy == "best":
        chosen = frame[at_top & (top_counts[frame["left"].to_numpy()] == 1)]
    else:
        chosen = frame[counts[frame["left"].to_numpy()] == 1]
    returned: list[list] = [[] for _ in range(n)]
    for left, right in zip(chosen["left"].to_numpy(), chosen["right"].to_numpy(), strict=True):
        returned[left].append(right)
    return pd.DataFrame(
        {
            "left_id": left_ids,
            "returned": returned,
            "ambiguous": (counts > 1) | (top_counts > 1),
            "candidates": counts,
            "best_score": best_score,
        }
    )
