"""CLKs of the two sides of a linkage, from matchsim's encoded records.

Each side is encoded by its own party in a real deployment; here both are encoded with the
same settings and key, each with its own BLIP stream (left 1, right 2). A prepared register
keeps its CLKs for the settings last used, so a batch of requests encodes only itself.
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
) -> np.ndarray:
    """CLKs of one side's records; a role the linkage lacks counts as missing."""
    codes: dict[str, np.ndarray] = {}
    texts: dict[str, np.ndarray] = {}
    for spec in encoder.fields:
        codes[spec.role], texts[spec.role] = records.role_codes(spec.role, vocabularies)
    years = records.dob_parts[0] if encoder.hardening.salt == "birth_year" else None
    return encoder.encode_codes(codes, texts, years, stream, harden=harden)


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
