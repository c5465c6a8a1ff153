"""The ``matchsim`` command line: argument parsing and rendering only.

Every command calls the public library API. User errors print one line and exit 2;
unexpected failures exit 1 and suggest ``--debug`` for the traceback.
"""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from pydantic import ValidationError
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from typer.core import TyperGroup
from typer.exceptions import TyperException

from matchsim.errors import ConfigError, Interrupted, MatchsimError
from matchsim.io import check_result_dir, check_writable


class _StoppedError(Exception):
    """Ctrl-C inside a command. Typer turns a KeyboardInterrupt into a silent exit 130; this
    carries it (and what an :class:`Interrupted` job kept) to :func:`main`, which says so."""

    def __init__(self, exc: KeyboardInterrupt) -> None:
        self.message = exc.message if isinstance(exc, Interrupted) else "nothing written"
        super().__init__(self.message)


class _Commands(TyperGroup):
    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt as exc:
            raise _StoppedError(exc) from None


app = typer.Typer(
    cls=_Commands,
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    help="Simulate name/date-of-birth/address lookups on synthetic pupil records.",
)
_out = Console()
_err = Console(stderr=True)
_state: dict[str, bool] = {"debug": False}


#: ``--overwrite`` of the commands that write a file (generate, requests, link)
OverwriteOption = Annotated[
    bool,
    typer.Option(
        "--overwrite",
        help="Replace an existing OUT file that matchsim did not write (see docs/outputs.md).",
    ),
]


def _refuse_same_file(out: Path, inputs: dict[str, Path | None], out_option: str = "--out") -> None:
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


@app.callback()
def _root(
    debug: Annotated[
        bool, typer.Option("--debug", help="Show tracebacks for unexpected errors.")
    ] = False,
) -> None:
    _state["debug"] = debug


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


@contextmanager
def progress_bar(label: str, quiet: bool) -> Iterator[Callable[[int, int], None] | None]:
    if quiet:
        yield None
        return
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=_err, transient=True) as progress:
        task = progress.add_task(label, total=None)

        def update(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        yield update


def _parse_years(text: str) -> tuple[int, int]:
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


def _parse_weights(text: str, option: str) -> dict[str, float]:
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


_CENSUS_ALIASES = {
    "pupils": "--pupils",
    "birth_years": "--birth-years",
    "census_date": "--census-date",
    "names.origins": "--origins",
}


@app.command()
def generate(
    out: Annotated[Path, typer.Option("--out", "-o", help="Output file: .parquet or .csv.")],
    pupils: Annotated[
        int | None,
        typer.Option(help="Individuals in the register (default: the 2024 census, 9,092,073)."),
    ] = None,
    seed: Annotated[
        int, typer.Option(help="Random seed; the same seed and config give identical output.")
    ] = 0,
    birth_years: Annotated[
        str | None,
        typer.Option(
            "--birth-years",
            help="Build an NPD-like register of pupils born in these years, e.g. 1990-2020.",
        ),
    ] = None,
    census_date: Annotated[
        str | None,
        typer.Option("--census-date", help="Census day, YYYY-MM-DD (default 2024-01-18)."),
    ] = None,
    origins: Annotated[
        str | None,
        typer.Option(
            help="Name-origin mix, e.g. british=0.8,pakistani=0.2 (sums to 1); origins or Faker locales."
        ),
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option("--config", help="YAML file of census settings (see docs/census-config.md)."),
    ] = None,
    workers: Annotated[int, typer.Option(help="Threads to use.")] = 2,
    partitions: Annotated[
        int | None,
        typer.Option(
            help="Write OUT as a Parquet dataset directory of this many partitions, generated "
            "on --workers local processes (or the --scheduler cluster's workers).",
        ),
    ] = None,
    scheduler: Annotated[
        str | None,
        typer.Option(
            "--scheduler",
            help="Generate the partitions on the Dask cluster at this address (needs --partitions).",
        ),
    ] = None,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="No progress bar or summary.")
    ] = False,
    overwrite: OverwriteOption = False,
    force: Annotated[bool, ForceOption] = False,
) -> None:
    """Generate a synthetic pupil register and print its summary.

    Writes OUT and, beside it, the address history (OUT's stem + '.addresses'); with
    --partitions, OUT is a directory: pupils/part-*.parquet and addresses/part-*.parquet, which
    read in order are the register a single run writes.
    """
    from matchsim.synth import CensusConfig, address_history_path, generate_census
    from matchsim.synth.names import resolve_origin

    check_seed(seed, "--seed")
    if scheduler is not None and partitions is None:
        raise ConfigError(
            "--scheduler", "generating on a cluster writes partitions: give --partitions N"
        )
    if partitions is None:
        check_writable(out, overwrite=overwrite)
        check_writable(address_history_path(out), overwrite=overwrite)
    else:  # a dataset directory: new, empty or matchsim's own; --overwrite is for files only
        check_result_dir(out, "--out", command="generate")
    settings: dict[str, Any] = {}
    if config is not None:
        settings = _load_yaml(config, "--config")
    if pupils is not None:
        settings["pupils"] = pupils
    if birth_years is not None:
        settings["birth_years"] = _parse_years(birth_years)
    if census_date is not None:
        try:
            settings["census_date"] = dt.date.fromisoformat(census_date)
        except ValueError:
            raise ConfigError(
                "--census-date", f"{census_date!r} is not a date YYYY-MM-DD"
            ) from None
    if origins is not None:
        settings.setdefault("names", {})["origins"] = _parse_weights(origins, "--origins")
    if workers < 1:
        raise ConfigError("--workers", f"{workers} is not allowed; must be at least 1")
    try:
        census_config = CensusConfig.model_validate(settings)
    except ValidationError as exc:
        raise _as_config_error(exc, _CENSUS_ALIASES, CensusConfig) from None
    for origin in census_config.names.origins:
        resolve_origin(origin, field="--origins" if origins is not None else "names.origins")
    _check_register_size(census_config, pupils, birth_years, partitions, workers, force)
    if partitions is not None:
        from matchsim.distributed import open_executor, write_census_dataset

        kind = "dask" if scheduler is not None else "processes"
        with open_executor(kind, scheduler=scheduler, workers=workers) as executor:
            written = write_census_dataset(
                census_config, seed, out, executor, partitions=partitions
            )
        if not quiet:
            # Fewer than asked when the register has fewer blocks than --partitions.
            _out.print(f"Wrote the register in {written} partition{'s' * (written != 1)} to {out}/")
        return
    with progress_bar("Generating register", quiet) as update:
        census = generate_census(census_config, seed, workers=workers, progress=update)
        census.write(out, overwrite=overwrite)
    if not quiet:
        print_summary(census.summary().as_dict(), out)
        _print_fidelity(census)


def _print_fidelity(census: Any) -> None:
    """generate's fidelity section: the register's rows (requests are not drawn here)."""
    from matchsim.fidelity import fidelity_rows
    from matchsim.report.tables import fidelity_table

    rows = fidelity_rows(census, include_requests=False)
    _out.print(fidelity_table(rows, "Fidelity: generated against published (matchsim fidelity)"))


def _check_register_size(
    config: Any,
    pupils: int | None,
    birth_years: str | None,
    partitions: int | None,
    workers: int,
    force: bool,
) -> None:
    """Refuse a register this machine cannot generate, before any work (see synth.plan)."""
    from matchsim.synth.plan import check_generation

    if pupils is not None:
        parameter = "--pupils"
    elif birth_years is not None:
        parameter = "--birth-years"
    else:
        parameter = "pupils"
    check_generation(
        config, partitions=partitions, workers=workers, force=force, parameter=parameter
    )


def check_scenario_size(spec: Any, scheduler: str | None, force: bool, points: int = 1) -> None:
    """Refuse a scenario this machine cannot run, before any work (see scenario.capacity)."""
    from matchsim.scenario.capacity import check_scenario_fits

    check_scenario_fits(spec, on_cluster=scheduler is not None, force=force, points=points)


@app.command()
def requests(
    census: Annotated[
        Path,
        typer.Option(
            "--census", help="Register written by 'matchsim generate' (.parquet or .csv)."
        ),
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output file: .parquet or .csv.")],
    profile: Annotated[
        str | None,
        typer.Option(
            help="Requester profile (default immigration): immigration, benefit_fraud, police_cohort, research_linkage."
        ),
    ] = None,
    count: Annotated[
        int | None, typer.Option(help="Number of requests (default: the profile's).")
    ] = None,
    seed: Annotated[
        int, typer.Option(help="Random seed; the same seed gives the same requests.")
    ] = 0,
    in_register_share: Annotated[
        float | None,
        typer.Option(
            "--in-register-share", help="Share of requested people who are in the register."
        ),
    ] = None,
    error: Annotated[
        list[str] | None,
        typer.Option("--error", help="Override one error probability, NAME=P (repeatable)."),
    ] = None,
    error_scale: Annotated[
        float | None, typer.Option("--error-scale", help="Multiply every error probability.")
    ] = None,
    config: Annotated[
        Path | None, typer.Option("--config", help="YAML file of request settings.")
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No summary.")] = False,
    overwrite: OverwriteOption = False,
    force: Annotated[bool, ForceOption] = False,
) -> None:
    """Draw requests with ground truth from a register, for lookups to be scored against."""
    from matchsim.requests import RequestConfig, generate_requests
    from matchsim.synth import address_history_path, load_census

    check_seed(seed, "--seed")
    check_writable(out, overwrite=overwrite)
    _refuse_same_file(
        out, {"--census": census, "--census's address history": address_history_path(census)}
    )
    settings: dict[str, Any] = _load_yaml(config, "--config") if config is not None else {}
    if profile is not None:
        settings["profile"] = profile
    if count is not None:
        settings["count"] = count
    if in_register_share is not None:
        settings["in_register_share"] = in_register_share
    if error_scale is not None:
        settings["error_scale"] = error_scale
    if error:
        settings.setdefault("errors", {}).update(_parse_weights(",".join(error), "--error"))
    try:
        request_config = RequestConfig.model_validate(settings)
    except ValidationError as exc:
        raise _as_config_error(exc, _REQUEST_ALIASES, RequestConfig) from None
    register = load_census(census)
    from matchsim.synth.plan import check_plan, estimate_requests

    check_plan(
        estimate_requests(request_config.resolve()[1].count or 0, register.pupils.num_rows),
        "--count",
        force=force,
        ways_out="draw fewer requests, in several batches (--count, --seed)",
    )
    request_set = generate_requests(register, request_config, seed)
    request_set.write(out, overwrite=overwrite)
    if not quiet:
        _print_request_summary(request_set, out)


_REQUEST_ALIASES = {
    "profile": "--profile",
    "count": "--count",
    "in_register_share": "--in-register-share",
    "error_scale": "--error-scale",
}


def _parse_map(items: list[str] | None, option: str) -> dict[str, str]:
    mapping: dict[str, str] = {}
    for item in items or []:
        column, sep, role = item.rpartition("=")
        if not sep or not column or not role:
            raise ConfigError(option, f"{item!r} is not COLUMN=ROLE (e.g. given_name=forename)")
        mapping[column] = role
    return mapping


def _blocking_spec(
    items: list[str] | None, force: bool, roles: Sequence[str] | None = None
) -> object:
    from matchsim.blocking import default_blocking

    if not items or items == ["default"]:
        return None  # the engine's default, adapted to the roles both tables have
    specs: list[object] = []
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


def _read_frame(
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


def _read_records(
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
    table = _read_frame(path, option, encoding, values)
    return clean_table(
        table, roles, side, date_format=date_format, date_format_option="--date-format"
    )


def _print_link_notes(result: Any) -> None:
    """Under the link summary: the blocking passes one a line, and what cleaning read as missing."""
    passes = result.blocking.strategy.split(" | ")  # a union describes itself as "a | b | c"
    found = result.blocking.passes  # given the truth: which pass found and lost the true pairs
    if len(passes) > 1:
        _out.print("Blocking passes (the candidates are their union):", highlight=False)
        for i, line in enumerate(passes):
            if found is not None:
                row = found[i]
                line += (
                    f": {row['true_pairs_found']:,} true pairs found"
                    f" ({row['found_only_here']:,} by this pass alone), {row['missed']:,} missed"
                )
            _out.print(f"  {line}", soft_wrap=True, highlight=False, markup=False)
        if found is not None:
            _out.print(f"  lost by every pass: {found[-1]['missed']:,} true pairs", highlight=False)
    notes = result.quality.lines()
    if notes:
        _out.print("Input data:", highlight=False)
        for column, text in notes:
            _out.print(f"  {column}: {text}", soft_wrap=True, highlight=False, markup=False)


@app.command("link")
def link_command(
    left: Annotated[Path, typer.Argument(help="Left table (.csv or .parquet).")],
    right: Annotated[Path, typer.Argument(help="Right table (.csv or .parquet).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Scored pairs: .parquet or .csv.")],
    map_: Annotated[
        list[str] | None,
        typer.Option(
            "--map",
            help="LEFTCOL=ROLE, repeatable (roles: id, forename, middle_names, surname, "
            "date_of_birth, sex, postcode, address).",
        ),
    ] = None,
    right_map: Annotated[
        list[str] | None,
        typer.Option("--right-map", help="RIGHTCOL=ROLE for the right table (default: as --map)."),
    ] = None,
    blocking: BlockingOption = None,
    matcher: Annotated[
        str,
        typer.Option(
            help="fellegi_sunter (unsupervised), deterministic, cascade, weighted; with "
            "matchsim[peers]: recordlinkage, splink."
        ),
    ] = "fellegi_sunter",
    decision: Annotated[str, typer.Option(help="unique, best, all or one_to_one.")] = "unique",
    threshold: ThresholdOption = None,
    truth: Annotated[
        Path | None,
        typer.Option(
            help="Two-column file of true left/right id pairs: prints precision, recall, F1."
        ),
    ] = None,
    force: FullComparisonForceOption = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No summary.")] = False,
    overwrite: OverwriteOption = False,
    date_format: DateFormatOption = None,
    encoding: EncodingOption = None,
) -> None:
    """Link any two tables: block, compare, score (unsupervised Fellegi-Sunter by default), decide."""
    import pandas as pd

    from matchsim.linkage import link_tables

    check_writable(out, overwrite=overwrite)
    _refuse_same_file(out, {"LEFT": left, "RIGHT": right, "--truth": truth})
    roles = _parse_map(map_, "--map")
    if not roles:
        raise ConfigError("--map", "map at least one column to a role, e.g. --map surname=surname")
    right_roles = _parse_map(right_map, "--right-map") or roles
    if threshold is not None and not 0 <= threshold <= 1 and matcher != "cascade":
        raise ConfigError("--threshold", f"{threshold} is not allowed; must be in [0, 1]")
    left_table = _read_records(left, "LEFT", roles, "left", encoding, date_format)
    right_table = _read_records(right, "RIGHT", right_roles, "right", encoding, date_format)
    true_links = None
    if truth is not None:
        truth_table = _read_frame(truth, "--truth", encoding).to_pandas()
        if truth_table.shape[1] < 2:
            raise ConfigError("--truth", "needs two columns: left id and right id")
        true_links = truth_table.iloc[:, :2]
    result = link_tables(
        left_table,
        right_table,
        blocking=_blocking_spec(
            blocking, force, sorted(set(roles.values()) & set(right_roles.values()))
        ),
        matcher=matcher,
        decision=decision,
        threshold=threshold,
        true_links=true_links,
    )
    pairs = result.pairs()
    chosen = result.decisions.explode("returned").dropna(subset=["returned"])
    chosen_keys = set(zip(chosen["left_id"], chosen["returned"], strict=True))
    pairs["decision"] = [
        (a, b) in chosen_keys for a, b in zip(pairs["left_id"], pairs["right_id"], strict=True)
    ]
    import pyarrow as pa

    from matchsim.io import write_table

    write_table(
        pa.Table.from_pandas(pd.DataFrame(pairs), preserve_index=False), out, overwrite=overwrite
    )
    if not quiet:
        report = result.blocking
        table = Table(title=f"{len(pairs):,} scored pairs written to {out}", show_header=False)
        table.add_column("measure")
        table.add_column("value", justify="right")
        passes = report.strategy.count(" | ") + 1
        table.add_row(
            "blocking", f"{passes} passes, listed below" if passes > 1 else report.strategy
        )
        table.add_row(
            "candidate pairs",
            f"{report.candidate_pairs:,} (reduction ratio {report.reduction_ratio:.6f})",
        )
        table.add_row("matcher", result.matcher.describe())
        table.add_row(
            "left records matched",
            f"{int((result.decisions['returned'].str.len() > 0).sum()):,} of {len(result.decisions):,}",
        )
        if result.pair_metrics is not None:
            m = result.pair_metrics
            if report.pairs_completeness is not None:
                table.add_row("pairs completeness", f"{report.pairs_completeness:.4f}")
            table.add_row(
                "precision / recall / F1",
                f"{m['precision']:.4f} / {m['recall']:.4f} / {m['f1']:.4f}",
            )
            d = result.decision_metrics
            table.add_row(
                f"returned links ({decision}): P / R / F1",
                f"{d['precision']:.4f} / {d['recall']:.4f} / {d['f1']:.4f}",
            )
        _out.print(table)
        _print_link_notes(result)


@app.command("run")
def run_command(
    scenario: Annotated[Path, typer.Argument(help="Scenario YAML file (see scenarios/).")],
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            help="Result directory (default: results/NAME, results/NAME-seedN with --seed, "
            "plus a short hash of the --set values with --set).",
        ),
    ] = None,
    set_: SetOption = None,
    seed: Annotated[
        int | None, typer.Option(help="Seed of the whole run (overrides the scenario's).")
    ] = None,
    scheduler: JoinSchedulerOption = None,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="No progress bars or summary.")
    ] = False,
    force: Annotated[bool, ForceOption] = False,
) -> None:
    """Run a scenario: build the register, draw the requests, look them up, score and report."""
    from matchsim import __version__
    from matchsim.report import render_report
    from matchsim.scenario import load_scenario, run_scenario, write_run

    check_seed(seed, "--seed")
    overrides = list(set_ or [])
    if seed is not None:
        overrides.append(f"seed={seed}")
    spec = load_scenario(scenario, overrides)
    check_scenario_size(spec, scheduler, force)
    target = out if out is not None else default_run_dir(spec.name, seed, set_ or [])
    check_result_dir(target, "--out", command="run", create_parent=out is None)
    with _executor(spec.executor, scheduler, None) as executor, _stage_bars(quiet) as stage:
        run = run_scenario(spec, stage, executor=executor)
        write_run(run, target, __version__, report_html=render_report, create_parent=out is None)
    if not quiet:
        _print_run_summary(run, target)


def default_run_dir(name: str, seed: int | None, overrides: Sequence[str]) -> Path:
    """``results/NAME``; with ``--seed N``, ``results/NAME-seedN``; with ``--set``, a short
    stable hash of the settings given is added, so a variant never replaces the plain run."""
    import hashlib
    import json

    from matchsim.scenario.schema import parse_override

    label = name if seed is None else f"{name}-seed{seed}"
    if overrides:
        parsed = [parse_override(item) for item in overrides]
        text = json.dumps(parsed, sort_keys=True, default=str)
        label += "-" + hashlib.sha256(text.encode()).hexdigest()[:8]
    return Path("results") / label


@contextmanager
def _executor(kind: str, scheduler: str | None, workers: int | None) -> Iterator[Any]:
    """The scenario's executor (``None`` for local), closed afterwards."""
    if kind == "local" and scheduler is None:
        yield None
        return
    from matchsim.distributed import open_executor

    with open_executor(kind, scheduler=scheduler, workers=workers) as executor:
        yield executor


@contextmanager
def _stage_bars(quiet: bool) -> Iterator[Callable[[str, int, int], None] | None]:
    if quiet:
        yield None
        return
    columns = (
        TextColumn("{task.description:<22}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=_err, transient=True) as progress:
        tasks: dict[str, Any] = {}

        def stage(label: str, done: int, total: int) -> None:
            if label not in tasks:
                tasks[label] = progress.add_task(label, total=total)
            progress.update(tasks[label], completed=done, total=total)

        yield stage


def _print_run_summary(run: Any, target: Path) -> None:
    evaluation = run.result.evaluation
    table = Table(title=f"{run.scenario.name}: results in {target}/", show_header=True)
    table.add_column("outcome or rate")
    table.add_column("value", justify="right")
    table.add_column("95% interval", justify="right")
    for key in ("correct_match", "false_match", "missed_match", "correct_non_match"):
        table.add_row(key.replace("_", " "), f"{evaluation.counts.get(key, 0):,}", "")
    for key in ("false_match_rate", "missed_match_rate", "returned_rate"):
        rate = evaluation.rates[key]
        table.add_row(
            key.replace("_", " "), f"{rate.value:.2%}", f"{rate.low:.2%} – {rate.high:.2%}"
        )
    blocking = run.result.link.blocking
    table.add_row(
        "blocking: pairs / completeness",
        f"{blocking.candidate_pairs:,}",
        f"{blocking.pairs_completeness:.2%}" if blocking.pairs_completeness is not None else "",
    )
    _out.print(table)
    _out.print(f"Open {target / 'report.html'} for the charts and worked examples.")


@app.command("calibrate")
def calibrate_command(
    scenario: Annotated[Path, typer.Argument(help="Scenario YAML file (see scenarios/).")],
    set_: SetOption = None,
    seed: Annotated[
        int | None, typer.Option(help="Seed of the run (overrides the scenario's).")
    ] = None,
    requests_: Annotated[
        int | None,
        typer.Option("--requests", help="Requests to simulate (default: the scenario's)."),
    ] = None,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Also write the figures to this JSON file.")
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars.")] = False,
) -> None:
    """Solve the in-register share from the published Home Office returned shares, and say
    what the published figures can and cannot tell (docs/calibration.md)."""
    import json

    from matchsim.scenario import load_scenario
    from matchsim.scenario.calibration import calibrate_scenario

    if json_out is not None:
        parent = json_out.parent if str(json_out.parent) else Path(".")
        if not parent.is_dir():
            raise ConfigError("--json", f"directory {str(parent)!r} does not exist")
        if json_out.exists():
            raise ConfigError("--json", f"{str(json_out)!r} already exists; give a new file name")
    overrides = list(set_ or [])
    if seed is not None:
        overrides.append(f"seed={seed}")
    spec = load_scenario(scenario, overrides)
    with _executor(spec.executor, None, None) as executor, _stage_bars(quiet) as stage:
        report = calibrate_scenario(spec, stage, count=requests_, executor=executor)
    if json_out is not None:
        from matchsim.io import atomic_path

        with atomic_path(json_out) as tmp:
            tmp.write_text(json.dumps(report.as_dict(), indent=2), encoding="utf-8")
    from matchsim.report.tables import calibration_tables

    for table in calibration_tables(report):
        _out.print(table)


@app.command("fidelity")
def fidelity_command(
    pupils: Annotated[
        int | None,
        typer.Option(help="Generate a register of this many pupils (default 200,000)."),
    ] = None,
    census: Annotated[
        Path | None,
        typer.Option("--census", help="Measure this register (.parquet/.csv or directory)."),
    ] = None,
    birth_years: Annotated[
        str | None,
        typer.Option("--birth-years", help="With --pupils: an NPD-like register, e.g. 1992-2019."),
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the register and the requests.")] = 0,
    no_requests: Annotated[
        bool, typer.Option("--no-requests", help="Skip the request-error rows.")
    ] = False,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Also write the rows to this JSON file.")
    ] = None,
) -> None:
    """Generated against published, side by side, with sources and pass/fail (docs/fidelity.md)."""
    import json

    from matchsim.fidelity import fidelity_rows
    from matchsim.report.tables import fidelity_table
    from matchsim.synth import CensusConfig, generate_census, load_census

    if census is not None and (pupils is not None or birth_years is not None):
        raise ConfigError("--census", "measures an existing register: drop --pupils/--birth-years")
    if json_out is not None and json_out.exists():
        raise ConfigError("--json", f"{str(json_out)!r} already exists; give a new file name")
    if census is not None:
        register = load_census(census)
    else:
        settings: dict[str, Any] = {"pupils": pupils if pupils is not None else 200_000}
        if birth_years is not None:
            settings["birth_years"] = _parse_years(birth_years)
        try:
            config = CensusConfig.model_validate(settings)
        except ValidationError as exc:
            raise _as_config_error(exc, _CENSUS_ALIASES) from None
        register = generate_census(config, seed)
    rows = fidelity_rows(register, include_requests=not no_requests, seed=seed)
    if json_out is not None:
        from matchsim.io import atomic_path

        with atomic_path(json_out) as tmp:
            tmp.write_text(json.dumps([r.as_dict() for r in rows], indent=2), encoding="utf-8")
    _out.print(fidelity_table(rows, f"Fidelity of a register of {register.pupils.num_rows:,}"))


@app.command("sweep")
def sweep_command(
    scenario: Annotated[Path, typer.Argument(help="Scenario YAML file with a 'sweep:' section.")],
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Result directory (default: results/NAME-sweep)."),
    ] = None,
    grid: Annotated[
        list[str] | None,
        typer.Option(
            "--grid", help="KEY.PATH=V1,V2,... to vary (repeatable; adds to the file's grid)."
        ),
    ] = None,
    seeds: Annotated[
        int | None, typer.Option(help="Seeds per point (default: the file's, or 3).")
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(
            help="Local processes, or LocalCluster workers with executor: dask "
            "(default: the file's, or 2)."
        ),
    ] = None,
    set_: SetOption = None,
    scheduler: JoinSchedulerOption = None,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="No progress bar or summary.")
    ] = False,
    force: Annotated[bool, ForceOption] = False,
) -> None:
    """Run a scenario over a grid of settings x seeds, in parallel and resumably."""
    import pyarrow as pa

    from matchsim.io import write_table
    from matchsim.report.html import render_sweep
    from matchsim.scenario import load_scenario
    from matchsim.scenario.sweep import run_sweep, summarise_sweep

    spec = load_scenario(scenario, list(set_ or []))
    settings = spec.sweep
    grid_values: dict[str, list[Any]] = dict(settings.grid) if settings else {}
    for item in grid or []:
        key, values = parse_grid_item(item)
        grid_values[key] = values
    if seeds is not None and seeds < 1:
        raise ConfigError("--seeds", f"{seeds} is not allowed; must be at least 1")
    if "seed" in grid_values:
        # Each point runs with the scenario's seed, seed + 1, ...: a grid over seed would be
        # silently replaced.
        raise ConfigError(
            "--grid"
            if any(i.partition("=")[0].strip() == "seed" for i in grid or [])
            else "sweep.grid",
            "seed cannot be varied on the grid; each point runs --seeds seeds from the "
            "scenario's seed (set it with --set seed=N)",
        )
    if not grid_values:
        raise ConfigError(
            "sweep.grid", "nothing to vary: add a 'sweep: grid:' section or --grid KEY=V1,V2"
        )
    n_seeds = seeds if seeds is not None else (settings.seeds if settings else 3)
    n_workers = workers if workers is not None else (settings.workers if settings else 2)
    _check_sweep_sizes(spec, grid_values, n_workers, scheduler, force)
    target = out if out is not None else Path("results") / f"{spec.name}-sweep"
    check_result_dir(target, "--out", command="sweep", create_parent=out is None)
    with (
        _executor(spec.executor, scheduler, n_workers) as executor,
        progress_bar("Sweeping", quiet) as update,
    ):
        results = run_sweep(
            spec,
            grid_values,
            n_seeds,
            target,
            workers=n_workers,
            progress=update,
            executor=executor,
            create_parent=out is None,
        )
    summary = summarise_sweep(results, grid_values)
    from matchsim.io import atomic_path

    try:
        # Inside the sweep's own directory, which holds .matchsim-result: replaced each run.
        results_table = pa.Table.from_pandas(results, preserve_index=False)
        write_table(results_table, target / "results.parquet", overwrite=True)
        write_table(results_table, target / "results.csv", overwrite=True)
        summary_table = pa.Table.from_pandas(summary, preserve_index=False)
        write_table(summary_table, target / "summary.csv", overwrite=True)
        with atomic_path(target / "sweep.html") as tmp:
            tmp.write_text(
                render_sweep(spec.name, spec.description, summary, grid_values), encoding="utf-8"
            )
    except KeyboardInterrupt:
        raise Interrupted(
            f"all {len(results)} points saved in {target}; run the same command to write "
            "the results"
        ) from None
    if not quiet:
        from matchsim.report.tables import sweep_table

        _out.print(
            sweep_table(
                summary, list(grid_values), f"{spec.name}: {len(results)} runs in {target}/"
            )
        )


def _check_sweep_sizes(
    spec: Any, grid: dict[str, list[Any]], workers: int, scheduler: str | None, force: bool
) -> None:
    """Every grid point valid and within the machine, before any point runs."""
    from matchsim.scenario.sweep import grid_points, point_scenario

    points = [point_scenario(spec, settings, spec.seed) for settings in grid_points(grid)]
    largest = max(points, key=lambda p: p.population.pupils or 0)
    check_scenario_size(largest, scheduler, force, points=min(workers, len(points)))
    for point in points:
        check_scenario_size(point, scheduler, force)


@app.command("list")
def list_command() -> None:
    """List the blocking strategies, comparisons, matchers, profiles and error types."""
    from matchsim.blocking import BLOCKERS
    from matchsim.comparison import COMPARISONS
    from matchsim.decision import POLICY_DESCRIPTIONS
    from matchsim.matchers import MATCHERS
    from matchsim.requests import ERROR_TYPES, PROFILES
    from matchsim.synth.names import ORIGINS

    for title, rows in list_sections(
        BLOCKERS, COMPARISONS, MATCHERS, POLICY_DESCRIPTIONS, PROFILES, ERROR_TYPES, ORIGINS
    ):
        # The title is printed on its own line: as a table title it would wrap to the width
        # of a narrow table ("(lookup.decis / ion)").
        _out.print(title, style="bold italic", markup=False, highlight=False)
        table = Table(show_header=False)
        table.add_column("name", style="bold", no_wrap=True)
        table.add_column("what it is")
        for name, text in rows:
            table.add_row(name, text)
        _out.print(table)


@app.command("dedupe")
def dedupe_command(
    file: Annotated[Path, typer.Argument(help="Table to deduplicate (.csv or .parquet).")],
    map_: Annotated[
        list[str] | None,
        typer.Option(
            "--map",
            help="COLUMN=ROLE, repeatable (roles: id, forename, middle_names, surname, "
            "date_of_birth, sex, postcode, address).",
        ),
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Scored pairs: .parquet or .csv.")
    ] = None,
    clusters_out: Annotated[
        Path | None,
        typer.Option("--clusters-out", help="One row per record: id, cluster, cluster_size."),
    ] = None,
    blocking: BlockingOption = None,
    matcher: Annotated[
        str, typer.Option(help="fellegi_sunter (unsupervised), deterministic, cascade, weighted.")
    ] = "fellegi_sunter",
    threshold: ThresholdOption = None,
    cluster: Annotated[
        str,
        typer.Option(
            "--cluster",
            help="components (chains of matches are one entity) or one_to_one (each record "
            "matched to at most one other).",
        ),
    ] = "components",
    truth: Annotated[
        Path | None,
        typer.Option(
            help="True entities: a file of (record id, entity) columns, or with --truth-pairs "
            "of (id, id) duplicate pairs. Prints pairwise and cluster metrics."
        ),
    ] = None,
    truth_pairs: Annotated[
        bool, typer.Option("--truth-pairs", help="--truth holds duplicate pairs (id, id).")
    ] = False,
    force: FullComparisonForceOption = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No summary.")] = False,
    overwrite: OverwriteOption = False,
    date_format: DateFormatOption = None,
    encoding: EncodingOption = None,
) -> None:
    """Find duplicate records within one table and cluster them into entities."""
    import pyarrow as pa

    from matchsim.dedupe import dedupe_table
    from matchsim.io import write_tables

    for path, option in ((out, "--out"), (clusters_out, "--clusters-out")):
        if path is not None:
            check_writable(path, option, overwrite=overwrite)
            _refuse_same_file(path, {"FILE": file, "--truth": truth}, option)
    if out is not None and clusters_out is not None and out.resolve() == clusters_out.resolve():
        raise ConfigError("--clusters-out", "is the same file as --out; give two file names")
    roles = _parse_map(map_, "--map")
    if not roles:
        raise ConfigError("--map", "map at least one column to a role, e.g. --map surname=surname")
    if threshold is not None and not 0 <= threshold <= 1 and matcher != "cascade":
        raise ConfigError("--threshold", f"{threshold} is not allowed; must be in [0, 1]")
    if truth_pairs and truth is None:
        raise ConfigError("--truth-pairs", "needs --truth FILE")
    table = _read_records(file, "FILE", roles, "table", encoding, date_format)
    truth_options: dict[str, object] = {}
    if truth is not None:
        truth_table = _read_frame(truth, "--truth", encoding).to_pandas()
        if truth_table.shape[1] < 2:
            what = "two ids of duplicate records" if truth_pairs else "record id and entity"
            raise ConfigError("--truth", f"needs two columns: {what}")
        key = "true_links" if truth_pairs else "true_clusters"
        truth_options[key] = truth_table.iloc[:, :2]
    try:
        result = dedupe_table(
            table,
            None,
            blocking=_blocking_spec(blocking, force, sorted(set(roles.values()))),
            matcher=matcher,
            threshold=threshold,
            cluster_method=cluster,
            **truth_options,  # type: ignore[arg-type]
        )
    except ConfigError as exc:
        # The library names its parameters; name the flags here.
        flags = {"cluster_method": "--cluster", "true_clusters": "--truth", "true_links": "--truth"}
        if exc.field in flags:
            raise ConfigError(flags[exc.field], str(exc).split(": ", 1)[1]) from None
        raise
    outputs = {}
    if out is not None:
        outputs[out] = pa.Table.from_pandas(result.pairs(), preserve_index=False)
    if clusters_out is not None:
        outputs[clusters_out] = pa.Table.from_pandas(result.cluster_table(), preserve_index=False)
    write_tables(outputs, overwrite=overwrite)
    if quiet:
        return
    report, link = result.link.blocking, result.link
    clusters = result.cluster_table()
    grouped = clusters[clusters["cluster_size"] >= 2]
    summary = Table(title=f"{len(result.ids):,} records deduplicated", show_header=False)
    summary.add_column("measure")
    summary.add_column("value", justify="right")
    summary.add_row("blocking", report.strategy)
    summary.add_row(
        "candidate pairs",
        f"{report.candidate_pairs:,} (reduction ratio {report.reduction_ratio:.6f})",
    )
    summary.add_row("matcher", link.matcher.describe())
    summary.add_row("pairs over the threshold", f"{int((link.scores >= link.threshold).sum()):,}")
    summary.add_row(
        f"clusters ({result.method})",
        f"{result.n_clusters:,}; {len(grouped):,} records in "
        f"{grouped['cluster'].nunique():,} clusters of 2+",
    )
    m = result.metrics
    if m is not None:
        if report.pairs_completeness is not None:
            summary.add_row("pairs completeness", f"{report.pairs_completeness:.4f}")
        if link.pair_metrics is not None:
            p = link.pair_metrics
            summary.add_row(
                "scored pairs: P / R / F1",
                f"{p['precision']:.4f} / {p['recall']:.4f} / {p['f1']:.4f}",
            )
        summary.add_row(
            "pairwise (clusters): P / R / F1",
            f"{m['pairwise_precision']:.4f} / {m['pairwise_recall']:.4f} / {m['pairwise_f1']:.4f}",
        )
        summary.add_row(
            "clusters: P / R / F1",
            f"{m['cluster_precision']:.4f} / {m['cluster_recall']:.4f} / {m['cluster_f1']:.4f}",
        )
        summary.add_row(
            "wrongly merged clusters / split entities",
            f"{m['wrongly_merged_clusters']:,} / {m['split_entities']:,}",
        )
    written = [str(p) for p in outputs]
    if written:
        summary.add_row("written", ", ".join(written))
    _out.print(summary)


@app.command("explore")
def explore_command(
    result: Annotated[
        Path | None,
        typer.Argument(
            metavar="RESULT_DIR",
            help="A result directory of 'matchsim run' (default: the latest under results/).",
        ),
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars.")] = False,
) -> None:
    """Write RESULT_DIR/explorer.html: one offline page to edit a request and watch the lookup
    block, compare and score it with the run's fitted model (needs a fellegi_sunter run).

    The run is rebuilt from its scenario.resolved.yaml (same settings and seed, so the same
    register and model); see docs/explorer.md.
    """
    from matchsim.report.explorer import check_explore, explore, latest_result

    target = result if result is not None else latest_result()
    check_explore(target)
    with _stage_bars(quiet) as stage:
        page = explore(target, stage)
    if not quiet:
        _out.print(f"Wrote {page}: open it in a browser (it works offline).", soft_wrap=True)


def _with_options(registry: Any, name: str) -> str:
    from matchsim.registry import first_paragraph

    options = registry.options(name)
    text = first_paragraph(registry[name])
    if not options:
        return text
    shown = ", ".join(
        f"{o.name} (required)" if o.required else f"{o.name}={o.default}" for o in options
    )
    return f"{text}\nOptions: {shown}"


def list_sections(
    blockers: Any,
    comparisons: Any,
    matchers: Any,
    policies: dict[str, str],
    profiles: Any,
    error_types: Any,
    origins: Any,
) -> list[tuple[str, list[tuple[str, str]]]]:
    """The sections ``matchsim list`` prints: a title and (name, description) rows."""
    return [
        (
            "Blocking strategies (lookup.blocking)",
            [(k, _with_options(blockers, k)) for k in sorted(blockers)],
        ),
        (
            "Comparisons (lookup.comparisons, by kind)",
            [(k, _with_options(comparisons, k)) for k in sorted(comparisons)],
        ),
        ("Matchers (lookup.matcher)", [(k, _with_options(matchers, k)) for k in sorted(matchers)]),
        ("Decision policies (lookup.decision)", list(policies.items())),
        (
            "Requester profiles (requests.profile)",
            [(k, v.description) for k, v in profiles.items()],
        ),
        (
            "Error types (requests.errors)",
            [(k, f"{', '.join(v.fields)}: {v.description}") for k, v in error_types.items()],
        ),
        (
            "Name origins (population.names.origins; any Faker locale with sexed names too)",
            [(k, origins[k].description) for k in sorted(origins)],
        ),
    ]


def _print_request_summary(request_set: Any, out: Path) -> None:
    table = request_set.table
    n = table.num_rows
    in_register = sum(table["in_register"].to_pylist())
    summary = Table(title=f"{n:,} requests written to {out}", show_header=False)
    summary.add_column("measure")
    summary.add_column("value", justify="right")
    summary.add_row("profile", request_set.config.profile)
    summary.add_row("people in the register", f"{in_register:,} ({in_register / max(n, 1):.1%})")
    clean = sum(1 for e in table["n_errors"].to_pylist() if e == 0)
    summary.add_row("requests with no error", f"{clean:,} ({clean / max(n, 1):.1%})")
    rates = sorted(request_set.error_rates().items(), key=lambda kv: -kv[1])
    summary.add_row("commonest errors", ", ".join(f"{k} {v:.1%}" for k, v in rates[:5] if v > 0))
    _out.print(summary)


def _as_config_error(
    exc: ValidationError, aliases: dict[str, str], root: type[Any] | None = None
) -> ConfigError:
    if root is not None and exc.errors()[0]["type"] == "extra_forbidden":
        # An unknown key in a --config file: its key path and the nearest valid key, as
        # scenario files get them.
        from matchsim.scenario.schema import explain

        return explain(exc, root, aliases)
    field, _, message = validation_message(exc, aliases).partition(": ")
    return ConfigError(field, message)


def _load_yaml(path: Path, option: str) -> dict[str, Any]:
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


def print_summary(summary: dict[str, Any], out: Path) -> None:
    table = Table(title=f"Synthetic register written to {out}", show_header=False)
    table.add_column("measure")
    table.add_column("value", justify="right")
    table.add_row("pupils", f"{summary['pupils']:,}")
    table.add_row("households", f"{summary['households']:,}")
    table.add_row("twins and triplets", f"{summary['twin_share']:.2%}")
    table.add_row("moved house at least once", f"{summary['moved_share']:.1%}")
    table.add_row(
        "share forename + surname + DOB with another pupil",
        f"{summary['same_name_and_dob_share']:.3%}",
    )
    table.add_row("top forenames", ", ".join(f"{n} {s:.2%}" for n, s in summary["top_forenames"]))
    table.add_row("top surnames", ", ".join(f"{n} {s:.2%}" for n, s in summary["top_surnames"]))
    _out.print(table)


# --------------------------------------------------------------------------------------------
# matchsim cache: the worlds kept on disk (see matchsim.world)
# --------------------------------------------------------------------------------------------

cache_app = typer.Typer(
    no_args_is_help=True,
    rich_markup_mode=None,
    help="List or clear the registers kept on disk between runs (MATCHSIM_CACHE_DIR moves them).",
)
app.add_typer(cache_app, name="cache")


@cache_app.command("list")
def cache_list_command() -> None:
    """List the cached worlds: key, pupils, seed, matchsim version, parts and size."""
    from matchsim.world import cache_dir, list_worlds

    worlds = list_worlds()
    table = Table(title=f"cached worlds in {cache_dir()}", title_justify="left")
    for column in ("key", "pupils", "seed", "version", "parts", "size"):
        table.add_column(
            column,
            justify="right" if column in ("pupils", "size") else "left",
            no_wrap=column == "key",
        )
    for w in worlds:
        table.add_row(
            w.key,
            f"{w.pupils:,}" if w.pupils is not None else "?",
            str(w.seed) if w.seed is not None else "?",
            w.version or "?",
            ", ".join(w.parts) or "(incomplete)",
            _bytes(w.bytes),
        )
    _out.print(table)
    _out.print(f"{len(worlds)} world(s), {_bytes(sum(w.bytes for w in worlds))} in all")


@cache_app.command("clear")
def cache_clear_command(
    key: Annotated[
        str | None, typer.Argument(help="The world to delete (from `matchsim cache list`).")
    ] = None,
) -> None:
    """Delete every cached world, or the one of KEY. Only matchsim's own files are deleted."""
    from matchsim.world import clear_worlds

    removed = clear_worlds(key)
    _out.print(
        f"deleted {len(removed)} world(s), {_bytes(sum(w.bytes for w in removed))}",
        highlight=False,
    )


def _bytes(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"  # pragma: no cover


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the app and map errors to exit codes (0 ok, 1 bug, 2 user error)."""
    debug = "--debug" in (argv if argv is not None else sys.argv[1:])
    try:
        result = app(args=argv, standalone_mode=False)
    except TyperException as exc:
        _err.print(f"error: {exc.format_message()}", markup=False, highlight=False, soft_wrap=True)
        return 2
    except (typer.Abort, KeyboardInterrupt, _StoppedError) as exc:
        # Outputs are written beside their target and renamed in at the end: an interrupted
        # command leaves nothing, except a sweep's saved points, which it counts.
        said = exc.message if isinstance(exc, _StoppedError | Interrupted) else "nothing written"
        _err.print(f"interrupted: {said}", markup=False, highlight=False, soft_wrap=True)
        return 130
    except MatchsimError as exc:
        _err.print(f"error: {exc}", markup=False, highlight=False, soft_wrap=True)
        return 2
    except Exception as exc:
        if debug:
            raise
        _err.print(
            f"unexpected error: {type(exc).__name__}: {exc} (run with --debug for the traceback)",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
        return 1
    return result if isinstance(result, int) else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
