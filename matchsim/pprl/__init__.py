"""Privacy-preserving record linkage: keyed Bloom-filter encodings (field-level filters and
record-level CLKs) with hardening, Dice on packed bits, LSH blocking over encodings, an
encoded matcher usable in any scenario, and measures of the privacy risk that remains.

See docs/pprl.md for the method, its parameters and its sources.
"""

from __future__ import annotations

from matchsim.pprl.dice import dice_all_pairs, dice_pairs, popcounts
from matchsim.pprl.encoding import (
    DEFAULT_FIELDS,
    KEY_ENV,
    BloomEncoder,
    FieldSpec,
    Hardening,
    Secret,
    blip,
    unpack,
)

__all__ = [
    "DEFAULT_FIELDS",
    "KEY_ENV",
    "BloomEncoder",
    "FieldSpec",
    "Hardening",
    "Secret",
    "blip",
    "dice_all_pairs",
    "dice_pairs",
    "popcounts",
    "unpack",
]
