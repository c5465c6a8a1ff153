"""Synthetic pupil registers: the census on one day, or an NPD-like register of many cohorts.

The public surface is :func:`generate_census`, :class:`CensusConfig` and :class:`Census`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import pandas as pd
import pyarrow as pa

from matchsim.io import table_format, write_tables
from matchsim.synth.census.plan import BLOCK_PUPILS
from matchsim.synth.census.schedule import ProgressCallback, generate_census_tables
from matchsim.synth.config import CensusConfig
from matchsim.synth.summary import CensusSummary, summarise

__all__ = [
    "BLOCK_PUPILS",
    "Census",
    "CensusConfig",
    "CensusSummary",
    "address_history_path",
    "census_provenance",
    "generate_census",
    "load_census",
    "stored_pupils",
]

#: Parquet schema-metadata key holding the config and seed that made a register.
METADATA_KEY = b"matchsim"
#: A register written as a Parquet dataset (see matchsim.distributed): parts of the pupil
#: table and of the address history, in order, and a file of config, seed and size.
PUPILS_DIR, ADDRESSES_DIR, DATASET_INFO = "pupils", "addresses", "_matchsim.json"


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

    def write(self, path: Path | str, *, overwrite: bool = False) -> tuple[Path, Path]:
        """Write the pupils to ``path`` (.parquet or .csv) and the address history beside it.

        Existing files are replaced only when matchsim wrote them, or with ``overwrite``.
        """
        path = Path(path)
        history = address_history_path(path)
        pupils = stored_pupils(self.pupils) if table_format(path) == "parquet" else self.pupils
        write_tables({path: pupils, history: self.addresses}, overwrite=overwrite)
        return path, history


#: Text columns of the pupil table stored dictionary-encoded (as the names are), so that a
#: reader gets each distinct value once with every row's code, and preparing a register from
#: the file hashes 1.4 million postcodes rather than 9 million rows' (1.7 s at national size).
STORED_AS_DICTIONARY = ("middle_names", "address_line", "postcode")


def stored_pupils(pupils: pa.Table) -> pa.Table:
    """The pupil table as a file holds it: :data:`STORED_AS_DICTIONARY` encoded."""
    import pyarrow.compute as pc

    for name in STORED_AS_DICTIONARY:
        if name in pupils.column_names and not pa.types.is_dictionary(
            pupils.schema.field(name).type
        ):
            encoded = pc.dictionary_encode(pupils[name].combine_chunks())
            pupils = pupils.set_column(pupils.column_names.index(name), name, encoded)
    return pupils


def generate_census(
    config: CensusConfig | None = None,
    seed: int = 0,
    *,
    chunk_size: int = BLOCK_PUPILS,
    workers: int = 1,
    progress: ProgressCallback | None = None,
    world_seed: int | None = None,
    world_pupils: int | None = None,
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
    world_seed, world_pupils
        Build the geography, towns and schools of another run (its seed and size) instead of
        this one's, so that a second population lives in the same streets: this is how people
        who are *not* in a register are drawn for lookups against it.

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
        config,
        seed,
        chunk_size=chunk_size,
        workers=workers,
        progress=progress,
        world_seed=world_seed,
        world_pupils=world_pupils,
    )
    pupils = pupils.replace_schema_metadata(
        {METADATA_KEY: census_provenance(config, seed, pupils.num_rows)}
    )
    return Census(pupils=pupils, addresses=addresses, config=config, seed=seed)


def census_provenance(config: CensusConfig, seed: int, pupils: int) -> bytes:
    """The config, seed and size a register is stored with (Parquet schema metadata)."""
    return json.dumps(
        {"config": config.model_dump(mode="json"), "seed": seed, "pupils": pupils}
    ).encode()


def stored_config(raw: dict, where: str, field: str = "path") -> CensusConfig:
    """The census config a register was stored with. Settings that another matchsim version
    wrote and this one does not accept (a renamed field, a changed range) take this version's
    defaults, with a :class:`~matchsim.errors.ProvenanceWarning` naming them: the register's
    rows are data and are read as they are."""
    import copy
    import warnings

    from pydantic import ValidationError

    from matchsim.errors import ConfigError, ProvenanceWarning

    settings = copy.deepcopy(raw) if isinstance(raw, dict) else {}
    dropped: list[str] = [] if isinstance(raw, dict) else ["(all: not a mapping)"]
    config: CensusConfig | None = None
    while config is None:
        try:
            config = CensusConfig.model_validate(settings)
        except ValidationError as exc:
            # Drop each setting an error names (the innermost key of its location); when
            # none can be dropped, the stored settings are past mending.
            before = len(dropped)
            for error in exc.errors():
                loc = [part for part in error["loc"] if isinstance(part, str)]
                holder: object = settings
                for part in loc[:-1]:
                    holder = holder.get(part) if isinstance(holder, dict) else None
                if loc and isinstance(holder, dict) and loc[-1] in holder:
                    del holder[loc[-1]]
                    dropped.append(".".join(loc))
            if len(dropped) == before:
                raise ConfigError(
                    field,
                    f"{where}: its stored settings cannot be read by this matchsim version "
                    f"({exc.errors()[0]['msg']}); generate the register again with it",
                ) from None
    if dropped:
        warnings.warn(
            ProvenanceWarning(
                f"{where}: its stored settings {', '.join(sorted(set(dropped)))} do not fit "
                "this matchsim version (another wrote them); they take this version's "
                "defaults, and the register's rows are read as they are"
            ),
            stacklevel=3,
        )
    return config


def load_census(path: Path | str, field: str = "path", *, history: bool = True) -> Census:
    """Read a register written by :meth:`Census.write` (Parquet keeps its config and seed).

    A register without matchsim metadata (e.g. CSV) is read with the default config sized
    to its rows and seed 0; its address history is read if it sits beside it. ``history=False``
    leaves the history unread (an empty table): a lookup on current addresses never reads it,
    and at national size it is 38 million rows, more than the pupils themselves.
    """
    from matchsim.errors import ConfigError
    from matchsim.io import read_table

    path = Path(path)
    if path.is_dir():
        return _load_dataset(path, field, history)
    pupils = read_table(path, field)
    missing = {"pupil_id", "forename", "surname", "date_of_birth", "household_id"} - set(
        pupils.column_names
    )
    if missing:
        raise ConfigError(field, f"{str(path)!r} is not a matchsim register: no {sorted(missing)}")
    history_path = address_history_path(path)
    addresses = read_table(history_path, field) if history and history_path.exists() else None
    meta = (pupils.schema.metadata or {}).get(METADATA_KEY)
    if meta is not None:
        info = json.loads(meta)
        config = stored_config(info["config"], str(path), field)
        seed = int(info["seed"])
    else:
        config, seed = CensusConfig(pupils=max(pupils.num_rows, 1)), 0
    if addresses is None:
        addresses = pa.table({"household_id": pa.array([], pa.int64())})
    return Census(pupils=pupils, addresses=addresses, config=config, seed=seed)


def _load_dataset(root: Path, field: str, history: bool) -> Census:
    """A register written as a Parquet dataset, parts in order."""
    from matchsim.errors import ConfigError
    from matchsim.io import read_table

    info_path = root / DATASET_INFO
    if not info_path.is_file():
        raise ConfigError(
            field, f"{str(root)!r} is a directory but not a matchsim register dataset"
        )
    info = json.loads(info_path.read_text(encoding="utf-8"))

    def read(sub: str) -> pa.Table:
        parts = sorted((root / sub).glob("part-*.parquet"))
        if not parts:
            raise ConfigError(field, f"{str(root / sub)!r} holds no part-*.parquet files")
        return pa.concat_tables([read_table(part, field) for part in parts])

    config = stored_config(info["config"], str(root), field)
    seed = int(info["seed"])
    pupils = read(PUPILS_DIR)
    if pupils.num_rows != info["pupils"]:
        raise ConfigError(
            field, f"{str(root)!r} holds {pupils.num_rows:,} pupils, not {info['pupils']:,}"
        )
    pupils = pupils.replace_schema_metadata(
        {METADATA_KEY: census_provenance(config, seed, pupils.num_rows)}
    )
    addresses = (
        read(ADDRESSES_DIR) if history else pa.table({"household_id": pa.array([], pa.int64())})
    )
    return Census(pupils=pupils, addresses=addresses, config=config, seed=seed)
