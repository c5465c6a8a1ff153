"""CLKs of the two sides of a linkage, from matchsim's encoded records.

Each side is encoded by its own party in a real deployment; here both are encoded with the
same settings and key, each with its own BLIP stream (left 1, right 2). A prepared register
keeps its CLKs for the settings last used, so a batch of requests encodes only itself.
"""

from __future__ import annotations

from collections.abc import Mapping

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
) -> np.ndarray:
    """CLKs of one side's records; a role the linkage lacks counts as missing."""
    codes: dict[str, np.ndarray] = {}
    texts: dict[str, np.ndarray] = {}
    for spec in encoder.fields:
        codes[spec.role], texts[spec.role] = records.role_codes(spec.role, vocabularies)
    years = records.dob_parts[0] if encoder.hardening.salt == "birth_year" else None
    return encoder.encode_codes(codes, texts, years, stream, harden=harden)


def linkage_clks(encoder: BloomEncoder, data: LinkageData) -> tuple[np.ndarray, np.ndarray]:
    """(left CLKs, right CLKs) of a linkage, cached on it and, for the right side, on the
    register (only the latest settings, so a hardening sweep does not pile up copies)."""
    settings = encoder.settings()
    cached = data.cache.get(("clk", settings))
    if isinstance(cached, tuple):  # (left, right), or None before the first encoding
        return cached
    kept = data.right.cache.get("clk")
    if isinstance(kept, tuple) and kept[0] == settings:  # (settings, right CLKs)
        right = kept[1]
    else:
        right = encode_records(encoder, data.right, data.vocabularies, RIGHT_STREAM)
        data.right.cache["clk"] = (settings, right)
    left = encode_records(encoder, data.left, data.vocabularies, LEFT_STREAM)
    data.cache[("clk", settings)] = (left, right)
    return left, right
