"""Privacy-preserving record linkage: keyed Bloom-filter encodings (field-level filters and
record-level CLKs) with hardening, Dice on packed bits, LSH blocking over encodings, an
encoded matcher usable in any scenario, and measures of the privacy risk that remains.

See docs/pprl.md for the method, its parameters and its sources.
"""

from __future__ import annotations

from matchsim.pprl.bits import unpack
from matchsim.pprl.dice import dice_all_pairs, dice_pairs, popcounts
from matchsim.pprl.encoding import BloomEncoder
from matchsim.pprl.fields import DEFAULT_FIELDS, FieldSpec
from matchsim.pprl.hardening import Hardening, blip
from matchsim.pprl.secret import KEY_ENV, Secret

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
