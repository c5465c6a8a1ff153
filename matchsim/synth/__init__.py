"""Synthetic pupil registers: the census on one day, or an NPD-like register of many cohorts.

The public surface is :func:`generate_census`, :class:`CensusConfig` and :class:`Census`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import pandas as pd
import pyarrow as pa

from matchsim.io import write_tables
from matchsim.synth.census import BLOCK_PUPILS, ProgressCallback, generate_census_tables
from matchsim.synth.config import CensusConfig
from matchsim.synth.summary import CensusSummary, summarise

__all__ = [
    "BLOCK_PUPILS",
    "Census",
    "CensusConfig",
    "CensusSummary",
    "address_history_path",
    "generate_census",
]


def address_history_path(census_path: Path) -> Path:
    """Where the address history of ``census.parquet`` lives: ``census.addresses.parquet``."""
    return census_path.with_name(f"{census_path.stem}.addresses{census_path.suffix}")


@dataclass
class Census:
    """A generated register.

    ``pupils`` has one row per individual (see the README's data dictionary);
    ``addresses`` has one row per address each household has lived at, in time order, linked
    by ``household_id``. Both are kept as Arrow tables; ``.pupils_frame`` and
    ``.addresses_frame`` give pandas views.
    """

    pupils: pa.Table
    addresses: pa.Table
    config: CensusConfig
    seed: int
    _summary: CensusSummary | None = field(default=None, repr=False)

    @cached_property
    def pupils_frame(self) -> pd.DataFrame:
        return self.pupils.to_pandas()

    @cached_property
    def addresses_frame(self) -> pd.DataFrame:
        return self.addresses.to_pandas()

    def summary(self) -> CensusSummary:
        if self._summary is None:
            self._summary = summarise(self.pupils, self.addresses)
        return self._summary

    def write(self, path: Path | str) -> tuple[Path, Path]:
        """Write the pupils to ``path`` (.parquet or .csv) and the address history beside it."""
        path = Path(path)
        history = address_history_path(path)
        write_tables({path: self.pupils, history: self.addresses})
        return path, history


def generate_census(
    config: CensusConfig | None = None,
    seed: int = 0,
    *,
    chunk_size: int = 8 * BLOCK_PUPILS,
    workers: int = 1,
    progress: ProgressCallback | None = None,
) -> Census:
    """Generate a synthetic register.

    Parameters
    ----------
    config
        What to generate; defaults to the January 2024 census of England (9,092,073 pupils).
    seed
        Same seed and config give identical output, whatever ``chunk_size`` and ``workers``.
    chunk_size
        Pupils per unit of work (rounded to whole blocks of ``BLOCK_PUPILS``).
    workers
        Threads to use; numpy and Arrow release the GIL for most of the work.
    progress
        Called as ``progress(done, total)`` after each unit of work.

    Examples
    --------
    >>> from matchsim.synth import CensusConfig, generate_census
    >>> census = generate_census(CensusConfig(pupils=2_000), seed=7)
    >>> census.pupils.num_rows
    2000
    """
    config = config if config is not None else CensusConfig()
    if chunk_size < 1:
        raise ValueError("chunk_size must be at least 1")
    if workers < 1:
        raise ValueError("workers must be at least 1")
    pupils, addresses = generate_census_tables(
        config, seed, chunk_size=chunk_size, workers=workers, progress=progress
    )
    return Census(pupils=pupils, addresses=addresses, config=config, seed=seed)
