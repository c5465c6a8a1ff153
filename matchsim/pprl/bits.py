"""Filters as packed bits: 64 bits to a ``uint64`` word; bit ``i`` is bit ``7 - i % 8`` of
byte ``i // 8`` (``np.packbits``' big-endian order, as clkhash serialises CLKs)."""

from __future__ import annotations

import numpy as np

#: Records encoded per chunk when bits are set (a bool matrix of chunk x length).
CHUNK = 32_768


def pack(bits: np.ndarray) -> np.ndarray:
    """A bool matrix (rows x length) as uint64 words in big-endian bit order."""
    packed = np.packbits(bits, axis=1, bitorder="big")
    return np.ascontiguousarray(packed).view(np.uint64)


def unpack(filters: np.ndarray) -> np.ndarray:
    """uint64 words back to a bool matrix (rows x length), bit ``i`` as in :func:`pack`."""
    as_bytes = np.ascontiguousarray(filters).view(np.uint8)
    return np.unpackbits(as_bytes, axis=1, bitorder="big").astype(bool)


def to_bytes(filters: np.ndarray) -> list[bytes]:
    """Each filter as bytes (clkhash's serialised order)."""
    as_bytes = np.ascontiguousarray(filters).view(np.uint8)
    return [row.tobytes() for row in as_bytes]
