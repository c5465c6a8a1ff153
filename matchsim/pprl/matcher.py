"""The encoded matcher: Dice similarity of record-level CLKs, usable in any scenario."""

from __future__ import annotations

import numpy as np

from matchsim.comparison import ComparisonResult
from matchsim.errors import ConfigError
from matchsim.matchers.base import Matcher, matcher
from matchsim.pprl.dice import DICE_THRESHOLD, dice_pairs
from matchsim.pprl.encoding import BloomEncoder
from matchsim.pprl.records import pair_clks
from matchsim.records import LinkageData


@matcher("bloom_dice")
class BloomDiceMatcher(Matcher):
    """Dice coefficient of keyed Bloom-filter encodings (CLKs) of the two records; a pair
    matches at ``threshold`` or above (privacy-preserving: no plaintext is compared).

    Needs no training and no comparison levels: the pipeline runs no plaintext comparison for
    it. It encodes only the records the candidate pairs touch. It runs in one process only
    (the key is never pickled to a worker), so it is refused on register partitions. Every
    other parameter is an encoder setting (see ``matchsim.pprl.BloomEncoder``); the key comes
    from ``key`` or the environment variable ``key_env`` and is never shown by
    :meth:`describe`.

    Parameters
    ----------
    threshold
        Dice coefficient at or above which a pair matches, in (0, 1].
    """

    needs_levels = False
    partitionable = False
    #: where the options beyond ``threshold`` go (``matchsim list`` and scenario checks read it)
    extra_options = BloomEncoder

    def __init__(self, threshold: float = DICE_THRESHOLD, **encoding: object) -> None:
        if (
            isinstance(threshold, bool)
            or not isinstance(threshold, int | float)
            or not 0 < threshold <= 1
        ):
            raise ConfigError(
                "bloom_dice.threshold", f"must be a number in (0, 1]. Got {threshold!r} instead."
            )
        self.threshold = float(threshold)
        self.encoder = BloomEncoder(**encoding)  # type: ignore[arg-type]  # it checks its settings

    def describe(self) -> str:
        return f"bloom_dice(Dice >= {self.threshold:g}; {self.encoder.describe()})"

    def score(self, result: ComparisonResult, data: LinkageData) -> np.ndarray:
        left, right, left_at, right_at = pair_clks(self.encoder, data, result.left, result.right)
        return dice_pairs(left, right, left_at, right_at)
