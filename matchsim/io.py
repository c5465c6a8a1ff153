"""Writing outputs safely: to a temporary file beside the target, then an atomic rename.

An interrupted or failed write never leaves a half-written file under the target name, and
matchsim never deletes or replaces anything it did not write (see docs/outputs.md):

- a Parquet file matchsim writes carries the schema-metadata key ``matchsim.written_by``; an
  existing file is replaced only when it carries that key (or the register's provenance key)
  or when the caller passes ``overwrite``. CSV files carry no mark, since a comment line would
  break other readers of them: an existing CSV is replaced only with ``overwrite``.
- a result directory (``run``, ``sweep``, ``generate --partitions``) carries a marker file,
  ``.matchsim-result``; only such a directory (of the same command), or an empty one, is
  replaced, by a complete new directory swapped in. Nothing else is ever removed.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from matchsim.errors import ConfigError

TABLE_FORMATS = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv"}

#: Parquet schema-metadata key marking a file matchsim wrote (value: ``matchsim VERSION``).
WRITTEN_BY_KEY = b"matchsim.written_by"
#: The register's provenance key (config and seed); registers written before
#: ``WRITTEN_BY_KEY`` existed carry only this one.
_PROVENANCE_KEY = b"matchsim"
#: The file that makes a directory a matchsim result, which a later run may replace.
RESULT_MARKER = ".matchsim-result"


def table_format(path: Path, field: str = "out") -> str:
    fmt = TABLE_FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise ConfigError(field, f"{str(path)!r} has an unknown extension; use .parquet or .csv")
    return fmt


def check_writable(path: Path, field: str = "out", *, overwrite: bool = False) -> None:
    """Fail early, before any work, if ``path`` cannot be written, or holds a file matchsim
    may not replace (see :func:`check_replaceable`)."""
    table_format(path, field)
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise ConfigError(field, f"directory {str(parent)!r} does not exist")
    if not os.access(parent, os.W_OK):
        raise ConfigError(field, f"directory {str(parent)!r} is not writable")
    if path.is_dir() and not path.is_symlink():
        raise ConfigError(field, f"{str(path)!r} is a directory; give a file name")
    check_replaceable(path, field, overwrite=overwrite)


def _overwrite_hint(field: str) -> str:
    # The command line names its flag; the library its parameter.
    return "--overwrite" if field.startswith("--") else "overwrite=True"


def written_by_matchsim(path: Path) -> bool:
    """Whether the existing file ``path`` carries matchsim's mark (only Parquet files can)."""
    if path.is_symlink() or not path.is_file() or table_format(path, "path") != "parquet":
        return False
    try:
        metadata = pq.read_schema(path).metadata or {}
    except (pa.ArrowInvalid, OSError):
        return False
    return WRITTEN_BY_KEY in metadata or _PROVENANCE_KEY in metadata


def check_replaceable(path: Path, field: str = "out", *, overwrite: bool = False) -> None:
    """Refuse to replace an existing file at ``path`` that matchsim did not write.

    A file replaced with ``overwrite`` is one the caller named; a directory is never replaced.
    """
    if not (path.exists() or path.is_symlink()):
        return
    if path.is_dir() and not path.is_symlink():
        raise ConfigError(field, f"{str(path)!r} is a directory; give a file name")
    if overwrite or written_by_matchsim(path):
        return
    hint = _overwrite_hint(field)
    if path.is_symlink():
        why = "is a symbolic link"
    elif table_format(path, field) == "csv":
        why = "already exists (a CSV file carries no mark that matchsim wrote it)"
    else:
        why = "already exists and was not written by matchsim"
    raise ConfigError(
        field, f"{str(path)!r} {why}; choose another name, or pass {hint} to replace it"
    )


@contextlib.contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temporary path in the target's directory; rename it onto ``path`` on success.

    For files inside a result directory matchsim owns; it does not check who wrote ``path``.
    """
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    os.chmod(tmp, _default_mode())
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.replace(tmp_path, path)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def decoded_table(table: pa.Table) -> pa.Table:
    """The table with its dictionary columns decoded to plain values (CSV cannot hold
    dictionaries; two encodings of the same rows compare equal once decoded)."""
    columns = []
    for col in table.columns:
        if pa.types.is_dictionary(col.type):
            col = col.cast(col.type.value_type)
        columns.append(col)
    return pa.Table.from_arrays(columns, names=table.column_names)


def write_table(table: pa.Table, path: Path, *, overwrite: bool = False) -> None:
    """Write Parquet or CSV (by extension) atomically; see :func:`write_tables`."""
    write_tables({path: table}, overwrite=overwrite)


def _umask() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return umask


def _default_mode() -> int:
    # mkstemp creates files readable only by their owner; outputs get the usual permissions.
    return 0o666 & ~_umask()


def matchsim_version() -> str:
    from matchsim.version import __version__

    return __version__


def _marked(table: pa.Table) -> pa.Table:
    """The table with ``matchsim.written_by`` in its schema metadata (kept metadata intact)."""
    metadata = dict(table.schema.metadata or {})
    metadata[WRITTEN_BY_KEY] = f"matchsim {matchsim_version()}".encode()
    return table.replace_schema_metadata(metadata)


#: Largest dictionary page a column chunk may hold (Arrow's default is 1 MiB, past which it
#: falls back to plain pages; a national census's postcodes make an 11 MB dictionary).
DICTIONARY_PAGE_LIMIT = 1 << 30


def _layout(table: pa.Table) -> dict[str, int]:
    """Parquet layout of a table with dictionary columns: one row group, whole dictionaries.

    Arrow writes a dictionary column's whole dictionary into every row group, and a reader
    gets one dictionary per row group, which it must hash again to put the rows on one. One
    row group keeps each dictionary once in the file and once in memory (a reader's batches
    share it), so that a reader gets the codes as they were written."""
    if not any(pa.types.is_dictionary(t) for t in table.schema.types):
        return {}
    return {
        "row_group_size": max(table.num_rows, 1),
        "dictionary_pagesize_limit": DICTIONARY_PAGE_LIMIT,
    }


def write_tables(tables: dict[Path, pa.Table], *, overwrite: bool = False) -> None:
    """Write several files so that either all appear or none do.

    An existing file is replaced only when matchsim wrote it, or with ``overwrite``
    (:func:`check_replaceable`); that is checked again just before the files are renamed into
    place, since a long run gives time for a file to appear.
    """
    staged: list[tuple[Path, Path]] = []
    try:
        for path, table in tables.items():
            check_replaceable(path, "out", overwrite=overwrite)
            fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
            os.close(fd)
            os.chmod(tmp_name, _default_mode())
            staged.append((Path(tmp_name), path))
            if table_format(path) == "parquet":
                pq.write_table(_marked(table), tmp_name, compression="zstd", **_layout(table))
            else:
                pacsv.write_csv(decoded_table(table), tmp_name)
        for _, path in staged:
            check_replaceable(path, "out", overwrite=overwrite)
        for tmp, path in staged:
            os.replace(tmp, path)
    finally:
        for tmp, _ in staged:
            if tmp.exists():
                tmp.unlink()


def is_result_dir(path: Path, command: str | None = None) -> bool:
    """Whether ``path`` is a directory matchsim wrote (of ``command``, when given)."""
    marker = path / RESULT_MARKER
    if path.is_symlink() or marker.is_symlink() or not marker.is_file():
        return False
    try:
        data = json.loads(marker.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if not isinstance(data, dict) or "matchsim_version" not in data:
        return False
    return command is None or data.get("command") == command


def write_result_marker(
    directory: Path, command: str, scenario: str | None = None, files: list[str] | None = None
) -> None:
    """Mark ``directory`` as a result of ``command`` (a later run of it may replace it).

    ``files`` lists its top-level entries, when it is complete: anything else found there
    later was put there by someone else, and keeps the directory from being replaced.
    """
    marker: dict[str, object] = {
        "written_by": "matchsim",
        "matchsim_version": matchsim_version(),
        "command": command,
        "scenario": scenario,
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    if files is not None:
        marker["files"] = files
    (directory / RESULT_MARKER).write_text(json.dumps(marker, indent=2) + "\n", encoding="utf-8")


def _not_listed(directory: Path) -> list[str]:
    """Top-level entries of a result directory that its marker does not list."""
    try:
        listed = json.loads((directory / RESULT_MARKER).read_text(encoding="utf-8")).get("files")
    except (OSError, ValueError):
        return []
    if listed is None:  # a sweep's directory grows as it runs; it is never replaced whole
        return []
    return sorted(p.name for p in directory.iterdir() if p.name not in {*listed, RESULT_MARKER})


def check_result_dir(
    path: Path, field: str = "out", *, command: str, create_parent: bool = False
) -> None:
    """Refuse, before any work, a result directory matchsim may not write.

    ``path`` may be new, an empty directory, or a result of ``command`` that matchsim wrote
    (it holds ``.matchsim-result``). Anything else (a file, a link, a directory of the user's,
    the current directory or one holding it) is refused with what to do instead. With
    ``create_parent`` a missing parent directory (the default ``results/``) is made later.
    """
    given = str(path)
    parent = path.parent if str(path.parent) else Path(".")
    if path.is_symlink():
        raise ConfigError(field, f"{given!r} is a symbolic link; give a new directory name")
    if path.exists():
        if not path.is_dir():
            raise ConfigError(
                field,
                f"{given!r} is an existing file, and matchsim writes a result directory and "
                "never replaces a file it did not write; give a new directory name",
            )
        resolved, cwd = path.resolve(), Path.cwd().resolve()
        if resolved == cwd or resolved in cwd.parents:
            raise ConfigError(
                field,
                f"{given!r} is the current directory or holds it, which matchsim cannot replace; "
                "give a new directory name, e.g. results/NAME",
            )
        if os.path.ismount(path):
            raise ConfigError(field, f"{given!r} is a mount point; give a new directory inside it")
        if is_result_dir(path):
            if not is_result_dir(path, command):
                raise ConfigError(
                    field,
                    f"{given!r} holds a matchsim result of another command, not of "
                    f"'{command}'; give another directory",
                )
            foreign = _not_listed(path)
            if foreign:
                raise ConfigError(
                    field,
                    f"{given!r} is a matchsim result but also holds files it did not write "
                    f"({', '.join(foreign[:3])}{', ...' * (len(foreign) > 3)}); move them out "
                    "or give another directory",
                )
        elif any(path.iterdir()):
            older = (
                " (an older matchsim's result? remove it yourself)"
                * (path / "scenario.resolved.yaml").exists()
            )
            raise ConfigError(
                field,
                f"{given!r} is a directory matchsim did not write (no {RESULT_MARKER} "
                f"file){older}, and matchsim never deletes files it did not write; "
                "give a new or empty directory",
            )
        if not os.access(path, os.W_OK):
            raise ConfigError(field, f"directory {given!r} is not writable")
    if create_parent:
        while not parent.exists() and parent != parent.parent:
            parent = parent.parent  # it will be created: the nearest existing one must be writable
    if not parent.is_dir():
        raise ConfigError(field, f"directory {str(parent)!r} does not exist")
    if not os.access(parent, os.W_OK):
        raise ConfigError(field, f"directory {str(parent)!r} is not writable")


def make_parent(path: Path, field: str = "out") -> Path:
    """The parent directory of ``path``, created if missing; an unwritable one is a ConfigError."""
    parent = path.parent if str(path.parent) else Path(".")
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(
            field, f"cannot create directory {str(parent)!r}: {exc.strerror}"
        ) from None
    return parent


def _dir_mode() -> int:
    # mkdtemp makes a directory private to its owner; a result directory gets the usual mode.
    return 0o777 & ~_umask()


@contextlib.contextmanager
def result_dir(
    path: Path, field: str = "out", *, command: str, scenario: str | None = None
) -> Iterator[Path]:
    """Yield an empty temporary directory beside ``path``, to be filled with a complete result;
    on success it is marked and swapped in for ``path``.

    ``path`` is checked again (:func:`check_result_dir`) at the swap, since a long run gives
    time for it to change. An empty directory is replaced by one atomic rename; a previous
    result of ``command`` is renamed aside, the new one renamed in, and only then the old one
    removed. On failure or interrupt the temporary directory is removed and ``path`` untouched.
    """
    parent = make_parent(path, field)
    try:
        tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.tmp-", dir=parent))
    except OSError as exc:
        raise ConfigError(field, f"cannot write in {str(parent)!r}: {exc.strerror}") from None
    try:
        yield tmp
        write_result_marker(tmp, command, scenario, sorted(p.name for p in tmp.iterdir()))
        os.chmod(tmp, _dir_mode())
        check_result_dir(path, field, command=command)
        _swap_in(tmp, path, field, command)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def _swap_in(new: Path, path: Path, field: str, command: str) -> None:
    try:
        # Atomic; replaces an empty directory, fails on a non-empty one.
        os.rename(new, path)
        return
    except OSError:
        if path.is_dir() and not path.is_symlink() and not any(path.iterdir()):
            os.rmdir(path)  # Windows renames onto no directory, even an empty one
            os.rename(new, path)
            return
        if not is_result_dir(path, command):
            raise ConfigError(
                field, f"{str(path)!r} changed during the run and is no longer replaceable"
            ) from None
    aside = Path(tempfile.mkdtemp(prefix=f".{path.name}.old-", dir=new.parent))
    old = aside / path.name
    os.rename(path, old)
    try:
        os.rename(new, path)
    except BaseException:
        os.rename(old, path)
        os.rmdir(aside)
        raise
    # Only a directory that was checked to be matchsim's own result is removed.
    shutil.rmtree(aside, ignore_errors=True)


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
