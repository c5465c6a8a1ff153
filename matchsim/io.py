"""Writing tables safely: to a temporary file beside the target, then an atomic rename.

An interrupted or failed write never leaves a half-written file under the target name.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from matchsim.errors import ConfigError

TABLE_FORMATS = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv"}


def table_format(path: Path, field: str = "--out") -> str:
    fmt = TABLE_FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise ConfigError(field, f"{str(path)!r} has an unknown extension; use .parquet or .csv")
    return fmt


def check_writable(path: Path, field: str = "--out") -> None:
    """Fail early, before any work, if ``path`` cannot be written."""
    table_format(path, field)
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise ConfigError(field, f"directory {str(parent)!r} does not exist")
    if not os.access(parent, os.W_OK):
        raise ConfigError(field, f"directory {str(parent)!r} is not writable")
    if path.is_dir():
        raise ConfigError(field, f"{str(path)!r} is a directory; give a file name")


@contextlib.contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temporary path in the target's directory; rename it onto ``path`` on success."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent or ".")
    os.close(fd)
    os.chmod(tmp, _default_mode())
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.replace(tmp_path, path)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def _plain(table: pa.Table) -> pa.Table:
    """CSV cannot hold dictionary columns: decode them to plain strings."""
    columns = []
    for col in table.columns:
        if pa.types.is_dictionary(col.type):
            col = col.cast(col.type.value_type)
        columns.append(col)
    return pa.Table.from_arrays(columns, names=table.column_names)


def write_table(table: pa.Table, path: Path) -> None:
    """Write Parquet or CSV (by extension) atomically."""
    write_tables({path: table})


def _default_mode() -> int:
    # mkstemp creates files readable only by their owner; outputs get the usual permissions.
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def write_tables(tables: dict[Path, pa.Table]) -> None:
    """Write several files so that either all appear or none do."""
    staged: list[tuple[Path, Path]] = []
    try:
        for path, table in tables.items():
            fd, tmp = tempfile.mkstemp(
                prefix=f".{path.name}.", suffix=".tmp", dir=path.parent or "."
            )
            os.close(fd)
            os.chmod(tmp, _default_mode())
            staged.append((Path(tmp), path))
            if table_format(path) == "parquet":
                pq.write_table(table, tmp, compression="zstd")
            else:
                pacsv.write_csv(_plain(table), tmp)
        for tmp, path in staged:
            os.replace(tmp, path)
    finally:
        for tmp, _ in staged:
            if tmp.exists():
                tmp.unlink()


def read_table(path: Path, field: str = "path") -> pa.Table:
    fmt = table_format(path, field)
    if not path.is_file():
        raise ConfigError(field, f"{str(path)!r} does not exist")
    try:
        if fmt == "parquet":
            return pq.read_table(path)
        return pacsv.read_csv(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise ConfigError(field, f"{str(path)!r} could not be read as {fmt}: {exc}") from exc
