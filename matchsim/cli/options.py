"""Shared pieces of the commands: option declarations, argument parsers and the
reading of a user's tables."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
import yaml
from pydantic import ValidationError

from matchsim.errors import ConfigError

if TYPE_CHECKING:
    from matchsim.blocking import BlockingSpec

#: ``--overwrite`` of the commands that write a file (generate, requests, link)
OverwriteOption = Annotated[
    bool,
    typer.Option(
        "--overwrite",
        help="Replace an existing OUT file that matchsim did not write (see docs/outputs.md).",
    ),
]


def refuse_same_file(out: Path, inputs: dict[str, Path | None], out_option: str = "--out") -> None:
    """An output never replaces one of the command's own inputs."""
    for option, path in inputs.items():
        if path is not None and path.exists() and out.exists() and out.samefile(path):
            raise ConfigError(out_option, f"{str(out)!r} is also {option}; write to another file")


#: ``--set`` of the commands that load a scenario (run, sweep, calibrate)
SetOption = Annotated[
    list[str] | None,
    typer.Option("--set", help="Override a setting, KEY.PATH=VALUE (repeatable)."),
]


#: ``--scheduler`` of the commands that run a scenario (run, sweep)
JoinSchedulerOption = Annotated[
    str | None,
    typer.Option(
        "--scheduler",
        help="Join an existing Dask cluster at this address (tcp://HOST:8786); "
        "implies executor: dask.",
    ),
]


#: ``--force`` of the commands that refuse a register too large for the machine
ForceOption = typer.Option(
    "--force",
    help="Go ahead although the memory estimate exceeds the memory available now (never "
    "beyond the machine's total memory).",
)


def validation_message(exc: ValidationError, aliases: dict[str, str] | None = None) -> str:
    """One line from a pydantic error: the field path, what was given and what is allowed."""
    first = exc.errors()[0]
    path = ".".join(str(p) for p in first["loc"])
    field = (aliases or {}).get(path, path) or "config"
    given = first.get("input")
    message = first["msg"]
    message = message.removeprefix("Value error, ")
    if given is not None and not isinstance(given, dict):
        return f"{field}: {given!r} is not allowed; {message[0].lower()}{message[1:]}"
    return f"{field}: {message}"


def parse_years(text: str) -> tuple[int, int]:
    parts = text.replace("–", "-").split("-")
    try:
        if len(parts) == 1:
            year = int(parts[0])
            return year, year
        if len(parts) == 2:
            return int(parts[0]), int(parts[1])
    except ValueError:
        pass
    raise ConfigError("--birth-years", f"{text!r} is not a year range such as 1990-2020")


#: Seeds are non-negative integers that numpy's SeedSequence takes and that stay exact when
#: derived seeds (seed + 1, ...) are written to JSON and Parquet as 64-bit integers.
MAX_SEED = 2**63 - 1


def check_seed(seed: int | None, option: str) -> None:
    """Refuse a seed numpy cannot use before any work starts."""
    if seed is not None and not 0 <= seed <= MAX_SEED:
        raise ConfigError(option, f"{seed} is not allowed; a seed is a whole number 0 to 2**63-1")


def parse_grid_item(item: str) -> tuple[str, list[Any]]:
    """``KEY.PATH=V1,V2,...`` with each value read as YAML; empty values are refused (an empty
    value would read as null, which for most settings means "the default", e.g. the national
    register for ``population.pupils``)."""
    key, sep, raw = item.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ConfigError("--grid", f"{item!r} is not KEY.PATH=V1,V2,...")
    values: list[Any] = []
    for position, text in enumerate(raw.split(","), start=1):
        if not text.strip():
            raise ConfigError(
                "--grid",
                f"{item!r}: value {position} is empty; give KEY.PATH=V1,V2,... "
                "(write null for a setting's default)",
            )
        try:
            values.append(yaml.safe_load(text))
        except yaml.YAMLError:
            values.append(text.strip())
    return key, values


def parse_weights(text: str, option: str) -> dict[str, float]:
    weights: dict[str, float] = {}
    for item in filter(None, (p.strip() for p in text.split(","))):
        name, sep, value = item.partition("=")
        try:
            weights[name.strip()] = float(value)
        except ValueError:
            sep = ""
        if not sep:
            raise ConfigError(option, f"{item!r} is not NAME=WEIGHT (e.g. british=0.8,polish=0.2)")
    return weights


CENSUS_ALIASES = {
    "pupils": "--pupils",
    "birth_years": "--birth-years",
    "census_date": "--census-date",
    "names.origins": "--origins",
}


REQUEST_ALIASES = {
    "profile": "--profile",
    "count": "--count",
    "in_register_share": "--in-register-share",
    "error_scale": "--error-scale",
}


def parse_map(items: list[str] | None, option: str) -> dict[str, str]:
    mapping: dict[str, str] = {}
    for item in items or []:
        column, sep, role = item.rpartition("=")
        if not sep or not column or not role:
            raise ConfigError(option, f"{item!r} is not COLUMN=ROLE (e.g. given_name=forename)")
        mapping[column] = role
    return mapping


def blocking_spec(
    items: list[str] | None, force: bool, roles: Sequence[str] | None = None
) -> BlockingSpec | None:
    from matchsim.blocking import default_blocking

    if not items or items == ["default"]:
        return None  # the engine's default, adapted to the roles both tables have
    specs: list[BlockingSpec] = []
    for item in items:
        if item == "default":  # only the passes on roles both tables map
            specs.extend(default_blocking(roles).blockers)
        elif item == "full":
            specs.append({"name": "full", "force": force})
        else:
            specs.append(item)
    return specs[0] if len(specs) == 1 else specs


#: ``--blocking``, ``--threshold`` and ``--force`` of the commands that link a user's tables
#: (link, dedupe)
BlockingOption = Annotated[
    list[str] | None,
    typer.Option(
        "--blocking",
        help="default, full, exact:KEY+KEY, phonetic, sorted_neighbourhood, minhash; repeat for a union.",
    ),
]
ThresholdOption = Annotated[
    float | None, typer.Option(help="Score needed to match (default: the matcher's).")
]
FullComparisonForceOption = Annotated[
    bool, typer.Option("--force", help="Allow a full comparison above the safety limit.")
]
#: ``--date-format`` and ``--encoding`` of the commands that read a user's tables (link, dedupe)
DateFormatOption = Annotated[
    str | None,
    typer.Option(
        "--date-format",
        help="strptime format of text dates of birth, e.g. %d/%m/%Y (default: detected; "
        "see docs/input-files.md).",
    ),
]
EncodingOption = Annotated[
    str | None,
    typer.Option(
        "--encoding", help="Text encoding of CSV inputs, e.g. latin-1, cp1252 (default UTF-8)."
    ),
]


def read_frame(
    path: Path, option: str, encoding: str | None = None, text_columns: Sequence[str] = ()
) -> Any:
    from matchsim.ingest import read_table

    return read_table(
        path,
        option,
        encoding=encoding,
        text_columns=tuple(text_columns),
        encoding_option="--encoding",
    )


def read_records(
    path: Path,
    option: str,
    roles: dict[str, str],
    side: str,
    encoding: str | None,
    date_format: str | None,
) -> Any:
    """A LEFT or RIGHT file read and cleaned for linkage (value columns read as text)."""
    from matchsim.ingest import clean_table

    values = [column for column, role in roles.items() if role != "id"]
    table = read_frame(path, option, encoding, values)
    return clean_table(
        table, roles, side, date_format=date_format, date_format_option="--date-format"
    )


def as_config_error(
    exc: ValidationError, aliases: dict[str, str], root: type[Any] | None = None
) -> ConfigError:
    if root is not None and exc.errors()[0]["type"] == "extra_forbidden":
        # An unknown key in a --config file: its key path and the nearest valid key, as
        # scenario files get them.
        from matchsim.scenario.schema import explain

        return explain(exc, root, aliases)
    field, _, message = validation_message(exc, aliases).partition(": ")
    return ConfigError(field, message)


def load_yaml(path: Path, option: str) -> dict[str, Any]:
    if not path.is_file():
        raise ConfigError(option, f"{str(path)!r} does not exist")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(
            option, f"{str(path)!r} is not valid YAML: {exc}".splitlines()[0]
        ) from None
    if not isinstance(data, dict):
        raise ConfigError(option, f"{str(path)!r} must hold a mapping of settings")
    return data


def check_scenario_size(spec: Any, scheduler: str | None, force: bool, points: int = 1) -> None:
    """Refuse a scenario this machine cannot run, before any work (see scenario.capacity)."""
    from matchsim.scenario.capacity import check_scenario_fits

    check_scenario_fits(spec, on_cluster=scheduler is not None, force=force, points=points)


@contextmanager
def scenario_executor(kind: str, scheduler: str | None, workers: int | None) -> Iterator[Any]:
    """The scenario's executor (``None`` for local), closed afterwards."""
    if kind == "local" and scheduler is None:
        yield None
        return
    from matchsim.distributed import open_executor

    with open_executor(kind, scheduler=scheduler, workers=workers) as executor:
        yield executor


#: The library's errors name its parameters (``workers: 0 must be at least 1``); the command
#: line names the flag the user typed. The parameter each flag is passed as -> the flag.
PARAMETER_FLAGS = {
    "workers": "--workers",
    "scheduler": "--scheduler",
    "overrides": "--set",
    "out_dir": "--out",
    "cluster_method": "--cluster",
    "true_clusters": "--truth",
    "true_links": "--truth",
}


def as_flag_error(exc: ConfigError) -> ConfigError:
    """The library's error about a parameter, as the same error about the flag it came from."""
    flag = PARAMETER_FLAGS.get(exc.field)
    if flag is None:
        return exc
    return ConfigError(flag, str(exc).split(": ", 1)[1])
