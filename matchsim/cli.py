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
from typer.exceptions import TyperException

from matchsim.errors import ConfigError, MatchsimError
from matchsim.io import check_writable

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    help="Simulate name/date-of-birth/address lookups on synthetic pupil records.",
)
_out = Console()
_err = Console(stderr=True)
_state: dict[str, bool] = {"debug": False}


#: ``--scheduler`` of the commands that run a scenario (run, sweep)
JoinSchedulerOption = Annotated[
    str | None,
    typer.Option(
        "--scheduler",
        help="Join an existing Dask cluster at this address (tcp://HOST:8786); "
        "implies executor: dask.",
    ),
]


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
) -> None:
    """Generate a synthetic pupil register and print its summary.

    Writes OUT and, beside it, the address history (OUT's stem + '.addresses'); with
    --partitions, OUT is a directory: pupils/part-*.parquet and addresses/part-*.parquet, which
    read in order are the register a single run writes.
    """
    from matchsim.synth import CensusConfig, address_history_path, generate_census
    from matchsim.synth.names import resolve_origin

    if scheduler is not None and partitions is None:
        raise ConfigError(
            "--scheduler", "generating on a cluster writes partitions: give --partitions N"
        )
    if partitions is None:
        check_writable(out)
        check_writable(address_history_path(out))
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
        raise _as_config_error(exc, _CENSUS_ALIASES) from None
    for origin in census_config.names.origins:
        resolve_origin(origin, field="--origins" if origins is not None else "names.origins")
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
        census.write(out)
    if not quiet:
        print_summary(census.summary().as_dict(), out)


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
) -> None:
    """Draw requests with ground truth from a register, for lookups to be scored against."""
    from matchsim.requests import RequestConfig, generate_requests
    from matchsim.synth import load_census

    check_writable(out)
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
        raise _as_config_error(exc, _REQUEST_ALIASES) from None
    register = load_census(census)
    request_set = generate_requests(register, request_config, seed)
    request_set.write(out)
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


def _read_frame(path: Path, option: str) -> Any:
    from matchsim.io import read_table

    return read_table(path, option)


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
    blocking: Annotated[
        list[str] | None,
        typer.Option(
            "--blocking",
            help="default, full, exact:KEY+KEY, phonetic, sorted_neighbourhood, minhash; repeat for a union.",
        ),
    ] = None,
    matcher: Annotated[
        str,
        typer.Option(
            help="fellegi_sunter (unsupervised), deterministic, cascade, weighted; with "
            "matchsim[peers]: recordlinkage, splink."
        ),
    ] = "fellegi_sunter",
    decision: Annotated[str, typer.Option(help="unique, best or all.")] = "unique",
    threshold: Annotated[
        float | None, typer.Option(help="Score needed to match (default: the matcher's).")
    ] = None,
    truth: Annotated[
        Path | None,
        typer.Option(
            help="Two-column file of true left/right id pairs: prints precision, recall, F1."
        ),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Allow a full comparison above the safety limit.")
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No summary.")] = False,
) -> None:
    """Link any two tables: block, compare, score (unsupervised Fellegi-Sunter by default), decide."""
    import pandas as pd

    from matchsim.linkage import link_tables

    check_writable(out)
    roles = _parse_map(map_, "--map")
    if not roles:
        raise ConfigError("--map", "map at least one column to a role, e.g. --map surname=surname")
    right_roles = _parse_map(right_map, "--right-map") or roles
    if threshold is not None and not 0 <= threshold <= 1 and matcher != "cascade":
        raise ConfigError("--threshold", f"{threshold} is not allowed; must be in [0, 1]")
    left_table = _read_frame(left, "LEFT")
    right_table = _read_frame(right, "RIGHT")
    true_links = None
    if truth is not None:
        truth_table = _read_frame(truth, "--truth").to_pandas()
        if truth_table.shape[1] < 2:
            raise ConfigError("--truth", "needs two columns: left id and right id")
        true_links = truth_table.iloc[:, :2]
    result = link_tables(
        left_table,
        right_table,
        roles,
        right_roles,
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

    write_table(pa.Table.from_pandas(pd.DataFrame(pairs), preserve_index=False), out)
    if not quiet:
        report = result.blocking
        table = Table(title=f"{len(pairs):,} scored pairs written to {out}", show_header=False)
        table.add_column("measure")
        table.add_column("value", justify="right")
        table.add_row("blocking", report.strategy)
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


@app.command("run")
def run_command(
    scenario: Annotated[Path, typer.Argument(help="Scenario YAML file (see scenarios/).")],
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Result directory (default: results/NAME).")
    ] = None,
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", help="Override a setting, KEY.PATH=VALUE (repeatable)."),
    ] = None,
    seed: Annotated[
        int | None, typer.Option(help="Seed of the whole run (overrides the scenario's).")
    ] = None,
    scheduler: JoinSchedulerOption = None,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="No progress bars or summary.")
    ] = False,
) -> None:
    """Run a scenario: build the register, draw the requests, look them up, score and report."""
    from matchsim import __version__
    from matchsim.report import render_report
    from matchsim.scenario import load_scenario, run_scenario, write_run

    overrides = list(set_ or [])
    if seed is not None:
        overrides.append(f"seed={seed}")
    spec = load_scenario(scenario, overrides)
    target = out if out is not None else Path("results") / spec.name
    if target.parent and not target.parent.exists() and out is None:
        target.parent.mkdir(parents=True, exist_ok=True)
    parent = target.parent if str(target.parent) else Path(".")
    if not parent.is_dir():
        raise ConfigError("--out", f"directory {str(parent)!r} does not exist")
    with _executor(spec.executor, scheduler, None) as executor, _stage_bars(quiet) as stage:
        run = run_scenario(spec, stage, executor=executor)
        write_run(run, target, __version__, report_html=render_report)
    if not quiet:
        _print_run_summary(run, target)


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
    set_: Annotated[
        list[str] | None, typer.Option("--set", help="Override a setting, KEY.PATH=VALUE.")
    ] = None,
    scheduler: JoinSchedulerOption = None,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="No progress bar or summary.")
    ] = False,
) -> None:
    """Run a scenario over a grid of settings x seeds, in parallel and resumably."""
    import pyarrow as pa
    import yaml as _yaml

    from matchsim.io import write_table
    from matchsim.report.html import render_sweep
    from matchsim.scenario import load_scenario
    from matchsim.scenario.sweep import run_sweep, summarise_sweep

    spec = load_scenario(scenario, list(set_ or []))
    settings = spec.sweep
    grid_values: dict[str, list[Any]] = dict(settings.grid) if settings else {}
    for item in grid or []:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise ConfigError("--grid", f"{item!r} is not KEY.PATH=V1,V2,...")
        grid_values[key.strip()] = [_yaml.safe_load(v) for v in raw.split(",")]
    if not grid_values:
        raise ConfigError(
            "sweep.grid", "nothing to vary: add a 'sweep: grid:' section or --grid KEY=V1,V2"
        )
    n_seeds = seeds if seeds is not None else (settings.seeds if settings else 3)
    n_workers = workers if workers is not None else (settings.workers if settings else 2)
    target = out if out is not None else Path("results") / f"{spec.name}-sweep"
    target.mkdir(parents=True, exist_ok=True)
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
        )
    summary = summarise_sweep(results, grid_values)
    write_table(pa.Table.from_pandas(results, preserve_index=False), target / "results.parquet")
    write_table(pa.Table.from_pandas(results, preserve_index=False), target / "results.csv")
    write_table(pa.Table.from_pandas(summary, preserve_index=False), target / "summary.csv")
    from matchsim.io import atomic_path

    with atomic_path(target / "sweep.html") as tmp:
        tmp.write_text(
            render_sweep(spec.name, spec.description, summary, grid_values), encoding="utf-8"
        )
    if not quiet:
        table = Table(title=f"{spec.name}: {len(results)} runs in {target}/")
        for column in [*grid_values, "seeds", "false_match_rate", "missed_match_rate"]:
            table.add_column(column, justify="right")
        for values in summary.to_dict("records"):
            table.add_row(
                *[str(values[k]) for k in grid_values],
                str(values["seeds"]),
                f"{values['false_match_rate']:.3%}",
                f"{values['missed_match_rate']:.3%}",
            )
        _out.print(table)


@app.command("list")
def list_command() -> None:
    """List the blocking strategies, comparisons, matchers, profiles and error types."""
    from matchsim.blocking import BLOCKERS
    from matchsim.comparison import COMPARISONS
    from matchsim.decision import POLICIES
    from matchsim.matchers import MATCHERS
    from matchsim.requests import ERROR_TYPES, PROFILES
    from matchsim.synth.names import known_origins

    def first_line(obj: Any) -> str:
        # The docstring's first paragraph, on one line.
        paragraph = (obj.__doc__ or "").strip().split("\n\n")[0]
        return " ".join(paragraph.split()).replace("``", "")

    sections = [
        (
            "Blocking strategies (lookup.blocking)",
            [(k, first_line(v)) for k, v in BLOCKERS.items()],
        ),
        ("Comparisons (lookup.comparisons)", [(k, first_line(v)) for k, v in COMPARISONS.items()]),
        ("Matchers (lookup.matcher)", [(k, first_line(v)) for k, v in MATCHERS.items()]),
        ("Decision policies (lookup.decision)", [(k, "") for k in POLICIES]),
        (
            "Requester profiles (requests.profile)",
            [(k, v.description) for k, v in PROFILES.items()],
        ),
        (
            "Error types (requests.errors)",
            [(k, f"{', '.join(v.fields)}: {v.description}") for k, v in ERROR_TYPES.items()],
        ),
        ("Name origins (population.names.origins)", [(k, "") for k in known_origins()]),
    ]
    for title, rows in sections:
        table = Table(title=title, show_header=False, title_justify="left")
        table.add_column("name", style="bold")
        table.add_column("what it is")
        for name, text in rows:
            table.add_row(name, text)
        _out.print(table)


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


def _as_config_error(exc: ValidationError, aliases: dict[str, str]) -> ConfigError:
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
    except (typer.Abort, KeyboardInterrupt):
        _err.print(
            "interrupted; no output was written", markup=False, highlight=False, soft_wrap=True
        )
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
