"""CLKs of the two sides of a linkage, from matchsim's encoded records.

Each side is encoded by its own party in a real deployment; here both are encoded with the
same settings and key, each with its own BLIP stream (left 1, right 2). Scoring pairs encodes
only the records the pairs touch (:func:`pair_clks`): a record's CLK, BLIP flips included,
does not depend on which other records are encoded with it. Blocking on CLKs
(``clk_lsh``) needs every record's; those are kept with the linkage and, for the register,
for the settings last used, so that a batch of requests encodes only itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from matchsim.pprl.encoding import BloomEncoder
from matchsim.records import LinkageData, Records, Vocabulary

LEFT_STREAM, RIGHT_STREAM = 1, 2


def encode_records(
    encoder: BloomEncoder,
    records: Records,
    vocabularies: Mapping[str, Vocabulary],
    stream: int,
    *,
    harden: bool = True,
    rows: np.ndarray | None = None,
) -> np.ndarray:
    """CLKs of one side's records (only ``rows``, in that order, when given: each gets the
    bits encoding every record would give it); a role the linkage lacks counts as missing."""
    codes: dict[str, np.ndarray] = {}
    texts: dict[str, np.ndarray] = {}
    for spec in encoder.fields:
        code, texts[spec.role] = records.role_codes(spec.role, vocabularies)
        codes[spec.role] = code if rows is None else code[rows]
    years = None
    if encoder.hardening.salt == "birth_year":
        years = records.dob_parts[0] if rows is None else records.dob_parts[0][rows]
    return encoder.encode_codes(codes, texts, years, stream, harden=harden, rows=rows)


@dataclass
class LinkageClks:
    """A linkage's CLKs, per encoder settings: ``(left, right)``."""

    by_settings: dict[object, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)


@dataclass
class RegisterClks:
    """A register's CLKs under the latest settings only, so that a hardening sweep does not
    pile up copies of the whole register."""

    settings: object = None
    clks: np.ndarray | None = None


def linkage_clks(encoder: BloomEncoder, data: LinkageData) -> tuple[np.ndarray, np.ndarray]:
    """(left CLKs, right CLKs) of a linkage, kept with it and, for the right side, with the
    register (see :class:`RegisterClks`)."""
    settings = encoder.settings()
    linkage = data.state(LinkageClks).by_settings
    found = linkage.get(settings)
    if found is not None:
        return found
    register = data.right.state(RegisterClks)
    if register.clks is None or register.settings != settings:
        register.clks = encode_records(encoder, data.right, data.vocabularies, RIGHT_STREAM)
        register.settings = settings
    left = encode_records(encoder, data.left, data.vocabularies, LEFT_STREAM)
    linkage[settings] = (left, register.clks)
    return left, register.clks


def pair_clks(
    encoder: BloomEncoder, data: LinkageData, left: np.ndarray, right: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """CLKs for scoring the pairs ``(left[i], right[i])``: ``(left CLKs, right CLKs, each
    pair's row in the left CLKs, in the right CLKs)``. Only the records some pair touches
    are encoded (a national register's 15 million CLKs took 2 GB and most of a minute per
    setting for a few thousand requests' pairs), unless every record's CLKs are at hand."""
    settings = encoder.settings()
    found = data.state(LinkageClks).by_settings.get(settings)
    if found is not None:
        return found[0], found[1], left, right
    register = data.right.state(RegisterClks)
    if register.clks is not None and register.settings == settings:
        right_clks, right_at = register.clks, right
    else:
        touched, right_at = np.unique(right, return_inverse=True)
        right_clks = encode_records(
            encoder, data.right, data.vocabularies, RIGHT_STREAM, rows=touched
        )
    touched, left_at = np.unique(left, return_inverse=True)
    left_clks = encode_records(encoder, data.left, data.vocabularies, LEFT_STREAM, rows=touched)
    return left_clks, right_clks, left_at, right_at
