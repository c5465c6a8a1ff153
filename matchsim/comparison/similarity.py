"""String similarity of vocabulary values, once per distinct pair (rapidfuzz).

String similarities are computed once per distinct pair of values and reused for every pair
that shares it (names repeat heavily), with rapidfuzz's batch ``cpdist``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyarrow as pa
from rapidfuzz import distance, fuzz, process

from matchsim.comparison.codes import compact, unique_pairs

SIMILARITIES: dict[str, Callable[..., float]] = {
    "jaro_winkler": distance.JaroWinkler.normalized_similarity,
    "jaro": distance.Jaro.normalized_similarity,
    "levenshtein": distance.Levenshtein.normalized_similarity,
    "damerau_levenshtein": distance.DamerauLevenshtein.normalized_similarity,
    "token_set": lambda a, b, **kw: fuzz.token_set_ratio(a, b, **kw) / 100.0,
}

_NATIVE = {"token_set": (fuzz.token_set_ratio, 0.01)}


def similarity_of_codes(
    values: pa.Array | np.ndarray, a: np.ndarray, b: np.ndarray, scorer: str, workers: int = 1
) -> np.ndarray:
    """Similarity of vocabulary values ``a[i]`` and ``b[i]``, once per distinct pair."""
    ua, ub, inverse = unique_pairs(a, b)
    return pair_similarity(values, ua, ub, scorer, workers=workers)[inverse]


def pair_similarity(
    values: pa.Array | np.ndarray,
    ua: np.ndarray,
    ub: np.ndarray,
    scorer: str,
    *,
    workers: int = 1,
) -> np.ndarray:
    """Similarity of each (``values[ua[i]]``, ``values[ub[i]]``)."""
    if not len(ua):
        return np.zeros(0, dtype=np.float32)
    # Python strings only for the values these pairs use, not the whole vocabulary.
    used, (pa_, pb_) = compact(ua, ub)
    if isinstance(values, np.ndarray):
        text = values[used]
    else:
        text = values.take(pa.array(used)).to_numpy(zero_copy_only=False)
    # rapidfuzz's own scorers run in C++; token_set is on a 0-100 scale, so it is called
    # directly and rescaled rather than wrapped in a Python lambda (one call per pair).
    native, scale = _NATIVE.get(scorer, (SIMILARITIES[scorer], 1.0))
    # (No score_cutoff: rapidfuzz's Jaro-Winkler then drops scores equal to the cutoff.)
    sims = process.cpdist(text[pa_], text[pb_], scorer=native, workers=workers, dtype=np.float32)
    return np.asarray(sims, dtype=np.float32) * np.float32(scale)
