"""Bad input is refused before any work starts: exit 2, one line naming the key or flag,
what is allowed and what to do, and nothing written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from matchsim.cli import main
from matchsim.errors import ConfigError
from matchsim.scenario import load_scenario
from matchsim.synth import CensusConfig
from matchsim.synth.plan import (
    GENERATE_BYTES_PER_ROW,
    MachineMemory,
    check_generation,
    estimate_generation,
    machine_memory,
    max_pupils_for_schools,
)

ROOT = Path(__file__).resolve().parents[2]
TWINS = str(ROOT / "scenarios" / "twins.yaml")


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ") and "Traceback" not in err
    return lines[0]


@pytest.fixture
def in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


# --- sweep grids and seeds ---------------------------------------------------------------


@pytest.mark.parametrize(
    "grid",
    ["population.pupils=", "population.pupils=1000,", "population.pupils=,1000", "=1,2", "x"],
)
def test_empty_or_malformed_grid_values_are_refused_before_any_work(in_tmp, capsys, grid):
    code, _, err = run(capsys, "sweep", TWINS, "--grid", grid, "--out", "sw")
    assert code == 2
    assert one_error_line(err).startswith("error: --grid: ")
    assert not (in_tmp / "sw").exists() and not (in_tmp / "results").exists()


def test_a_grid_over_the_seed_is_refused_not_silently_replaced(in_tmp, capsys):
    code, _, err = run(capsys, "sweep", TWINS, "--grid", "seed=1,2", "--out", "sw")
    assert code == 2
    assert one_error_line(err).startswith("error: --grid: seed cannot be varied on the grid")
    assert list(in_tmp.iterdir()) == []


def test_bad_grid_value_type_is_refused_with_its_key_path(in_tmp, capsys):
    code, _, err = run(capsys, "sweep", TWINS, "--grid", "population.pupils=1000,abc")
    assert code == 2
    assert "population.pupils" in one_error_line(err)


@pytest.mark.parametrize(
    "args",
    [
        ("run", TWINS, "--seed", "-1"),
        ("run", TWINS, "--seed", str(2**64)),
        ("generate", "--pupils", "100", "--seed", "-1", "--out", "c.parquet"),
        ("requests", "--census", "c.parquet", "--seed", "-5", "--out", "r.parquet"),
        ("sweep", TWINS, "--grid", "lookup.decision=all", "--seeds", "0"),
    ],
)
def test_negative_seeds_and_zero_seed_counts_are_one_line(in_tmp, capsys, args):
    code, _, err = run(capsys, *args)
    assert code == 2
    line = one_error_line(err)
    assert line.startswith(("error: --seed: ", "error: --seeds: "))
    assert list(in_tmp.iterdir()) == []


def test_negative_seed_in_a_scenario_file(in_tmp, capsys):
    (in_tmp / "s.yaml").write_text("seed: -3\n")
    code, _, err = run(capsys, "run", "s.yaml")
    assert code == 2
    assert one_error_line(err).startswith("error: seed: -3 is not allowed")


# --- impossible sizes --------------------------------------------------------------------


def test_school_numbering_limit_is_refused_up_front_even_with_force(in_tmp, capsys):
    for args in (
        ("generate", "--pupils", "500000000", "--out", "c.parquet", "--force"),
        ("run", TWINS, "--set", "population.pupils=500000000", "--force"),
    ):
        code, _, err = run(capsys, *args)
        assert code == 2
        line = one_error_line(err)
        assert re.match(r"error: (--pupils|population\.pupils): 500,000,000 individuals", line)
        assert "establishment numbers" in line and "fewer pupils" in line
    assert list(in_tmp.iterdir()) == []


def test_school_limit_is_the_generators_own():
    config = CensusConfig()
    limit = max_pupils_for_schools(config)
    assert 90_000_000 < limit < 130_000_000  # the README's 100M plan must stay possible
    bigger = CensusConfig(schools={"pupils_per_primary": 550, "pupils_per_secondary": 2120})
    assert max_pupils_for_schools(bigger) == pytest.approx(2 * limit, rel=0.01)


@pytest.mark.slow
def test_school_limit_is_not_looser_than_the_generator():
    """At the computed limit the generator numbers its schools; 30% above, it cannot. Tiny
    schools bring the limit down to 4M pupils; generation stops after its plan (the first
    progress call), which is where schools are numbered."""
    from matchsim.synth import generate_census

    class PlannedError(Exception):
        pass

    def stop(_done: int, _total: int) -> None:
        raise PlannedError

    config = CensusConfig(schools={"pupils_per_primary": 10, "pupils_per_secondary": 10})
    limit = max_pupils_for_schools(config)
    with pytest.raises(PlannedError):
        generate_census(config.model_copy(update={"pupils": limit}), 0, progress=stop)
    with pytest.raises(ValueError, match="too many schools"):
        generate_census(config.model_copy(update={"pupils": int(limit * 1.3)}), 0, progress=stop)


def _small_machine(monkeypatch, total: int, available: int) -> None:
    monkeypatch.setattr(
        "matchsim.synth.plan.machine_memory", lambda: MachineMemory(total, available)
    )


def test_register_beyond_available_memory_is_refused_with_estimate_and_ways_out(
    in_tmp, capsys, monkeypatch
):
    _small_machine(monkeypatch, total=8_000_000_000, available=1_000_000_000)
    code, _, err = run(capsys, "generate", "--pupils", "6000000", "--out", "c.parquet")
    assert code == 2
    line = one_error_line(err)
    assert line.startswith("error: --pupils: 6,000,000 individuals need about ")
    assert "GB of memory" in line and "1.0 GB available (of 8.0 GB)" in line
    assert "fewer pupils" in line and "--partitions" in line and "executor: dask" in line
    assert "--force" in line
    assert list(in_tmp.iterdir()) == []


def test_force_overrides_the_estimate_but_not_the_machine(in_tmp, capsys, monkeypatch):
    _small_machine(monkeypatch, total=8_000_000_000, available=1)
    code, _, err = run(capsys, "generate", "--pupils", "2000", "--out", "c.parquet")
    assert code == 2 and "--force" in one_error_line(err)
    code, _, err = run(
        capsys, "generate", "--pupils", "2000", "--out", "c.parquet", "--force", "-q"
    )
    assert code == 0, err
    assert (in_tmp / "c.parquet").is_file()
    code, _, err = run(capsys, "generate", "--pupils", "60000000", "--out", "d.parquet", "--force")
    assert code == 2
    line = one_error_line(err)
    assert "more than this machine's 8.0 GB in total" in line and "--force" not in line
    assert not (in_tmp / "d.parquet").exists()


def test_partitions_bring_a_large_register_within_reach(monkeypatch):
    config = CensusConfig(pupils=60_000_000)
    small = MachineMemory(24_000_000_000, 12_000_000_000)
    with pytest.raises(ConfigError, match=r"^pupils: 60,000,000 individuals need about 18\.3 GB"):
        check_generation(config, memory=small)
    estimate = check_generation(config, partitions=200, workers=2, memory=small)
    assert estimate.processes == 2 and estimate.rows_per_process == 300_000
    assert estimate.memory < 1_000_000_000


def test_generation_estimate_follows_the_measured_per_row_cost():
    one = estimate_generation(CensusConfig(pupils=1_000_000))
    two = estimate_generation(CensusConfig(pupils=2_000_000))
    assert two.memory - one.memory == GENERATE_BYTES_PER_ROW * 1_000_000
    assert two.seconds > one.seconds > 0
    # the NPD-like register's size comes from its birth years
    npd = estimate_generation(CensusConfig(birth_years=(1990, 2020)))
    assert 19_000_000 < npd.rows < 21_000_000


def test_scenario_run_is_refused_with_its_key_path(in_tmp, capsys, monkeypatch):
    _small_machine(monkeypatch, total=4_000_000_000, available=1_500_000_000)
    code, _, err = run(capsys, "run", TWINS, "--set", "population.pupils=3000000")
    assert code == 2
    line = one_error_line(err)
    assert line.startswith("error: population.pupils: 3,000,000 individuals and 3,000 requests")
    assert "executor: dask" in line
    code, _, err = run(capsys, "sweep", TWINS, "--grid", "population.pupils=1000,3000000")
    assert code == 2 and "population.pupils: 3,000,000" in one_error_line(err)
    assert list(in_tmp.iterdir()) == []
    from matchsim.scenario.capacity import check_scenario_fits

    spec = load_scenario(data={"population": {"pupils": 3_000_000}})
    with pytest.raises(ConfigError, match=r"^population\.pupils: 3,000,000 individuals"):
        check_scenario_fits(spec, memory=MachineMemory(10**9, 10**9))
    check_scenario_fits(spec, on_cluster=True, memory=MachineMemory(10**9, 10**9))


def test_huge_request_counts_are_refused_before_the_register_is_built(in_tmp, capsys, monkeypatch):
    _small_machine(monkeypatch, total=8_000_000_000, available=6_000_000_000)
    code, _, err = run(
        capsys,
        "run",
        TWINS,
        "--set",
        "population.pupils=100000",
        "--set",
        "requests.count=20000000",
        "--set",
        "requests.in_register_share=0",
    )
    assert code == 2
    line = one_error_line(err)
    assert line.startswith("error: requests.count: 100,000 individuals and 20,000,000 requests")
    assert "more than this machine's 8.0 GB in total" in line
    census = in_tmp / "c.parquet"
    assert run(capsys, "generate", "--pupils", "500", "--out", str(census), "-q")[0] == 0
    before = sorted(p.name for p in in_tmp.iterdir())
    code, _, err = run(
        capsys, "requests", "--census", "c.parquet", "--count", "20000000", "--out", "r.parquet"
    )
    assert code == 2 and one_error_line(err).startswith("error: --count: 500 individuals")
    assert sorted(p.name for p in in_tmp.iterdir()) == before


def test_machine_memory_reads_the_kernel():
    memory = machine_memory()
    assert memory.total is not None and memory.total > 10**8
    assert memory.available is not None and 0 < memory.available <= memory.total


# --- unknown strategies and options ------------------------------------------------------


@pytest.mark.parametrize(
    ("lookup", "expected"),
    [
        (
            {"matcher": {"name": "deterministic", "require": ["forename"]}},
            "lookup.matcher.require: matcher 'deterministic' has no option 'require' "
            "(options: address, middle_names)",
        ),
        (
            {"matcher": {"name": "fellegi_sunter", "treshold": 0.5}},
            "lookup.matcher.treshold: matcher 'fellegi_sunter' has no option 'treshold'; "
            "did you mean 'threshold'?",
        ),
        ({"matcher": "determinstic"}, "did you mean 'deterministic'?"),
        (
            {"blocking": [{"name": "phonetic", "algoritm": "nysiis"}]},
            "lookup.blocking.0.algoritm: blocker 'phonetic' has no option 'algoritm'; "
            "did you mean 'algorithm'?",
        ),
        (
            {
                "blocking": {
                    "name": "union",
                    "blockers": [{"name": "sorted_neighbourhood", "windw": 3}],
                }
            },
            "lookup.blocking.blockers.0.windw: blocker 'sorted_neighbourhood' has no option "
            "'windw'; did you mean 'window'?",
        ),
        (
            {"blocking": {"name": "exact"}},
            "lookup.blocking.keys: blocker 'exact' needs the option 'keys'",
        ),
        ({"blocking": "sorted_neighborhood"}, "did you mean 'sorted_neighbourhood'?"),
        (
            {"comparisons": ["forename", {"kind": "name", "role": "surname", "threshold": [0.9]}]},
            "lookup.comparisons.1.threshold: comparison 'name' has no option 'threshold'; "
            "did you mean 'thresholds'?",
        ),
        (
            {"comparisons": ["surnme"]},
            "lookup.comparisons.0: unknown comparison 'surnme'; did you mean 'surname'?",
        ),
        (
            {"matcher": {"name": "bloom_dice", "lenght": 1024}},
            "lookup.matcher.lenght: matcher 'bloom_dice' has no option 'lenght'; did you mean 'length'?",
        ),
    ],
)
def test_unknown_strategy_options_are_refused_when_the_scenario_loads(lookup, expected):
    with pytest.raises(ConfigError) as info:
        load_scenario(data={"population": {"pupils": 1000}, "lookup": lookup})
    assert expected in str(info.value)


def test_unknown_matcher_option_via_the_cli_is_one_line_before_work(in_tmp, capsys):
    (in_tmp / "s.yaml").write_text(
        yaml.safe_dump({"lookup": {"matcher": {"name": "deterministic", "require": ["x"]}}})
    )
    code, _, err = run(capsys, "run", "s.yaml")
    assert code == 2
    assert "lookup.matcher.require" in one_error_line(err)
    assert sorted(p.name for p in in_tmp.iterdir()) == ["s.yaml"]


def test_every_shipped_scenario_still_loads():
    for path in sorted((ROOT / "scenarios").glob("*.yaml")):
        load_scenario(path)


def test_every_strategy_option_is_documented():
    from matchsim.blocking import BLOCKERS
    from matchsim.comparison import COMPARISONS
    from matchsim.matchers import MATCHERS

    for registry in (BLOCKERS, COMPARISONS, MATCHERS):
        for name in registry:
            for option in registry.options(name):
                assert option.meaning, f"{registry.kind} {name}: option {option.name} undocumented"


# --- census --config ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ("pupil: 100\n", "error: pupil: unknown key; did you mean 'pupils'?"),
        (
            "names:\n  origns: {british: 1.0}\n",
            "error: names.origns: unknown key; did you mean 'origins'?",
        ),
        (
            "mobility:\n  rate_under6: 0.1\n",
            "error: mobility.rate_under6: unknown key; did you mean",
        ),
    ],
)
def test_census_config_unknown_key_gets_path_and_nearest_key(in_tmp, capsys, config, expected):
    (in_tmp / "census.yaml").write_text(config)
    code, _, err = run(capsys, "generate", "--config", "census.yaml", "--out", "c.parquet")
    assert code == 2
    assert one_error_line(err).startswith(expected)
    assert sorted(p.name for p in in_tmp.iterdir()) == ["census.yaml"]


# --- docs and matchsim list --------------------------------------------------------------


def test_census_config_page_exists_is_current_and_its_example_loads():
    from matchsim.scenario.reference import census_markdown

    page = (ROOT / "docs" / "census-config.md").read_text(encoding="utf-8")
    assert page == census_markdown(), (
        "regenerate: python -m matchsim.scenario.reference census > docs/census-config.md"
    )
    for name in CensusConfig.model_fields:
        assert f"| `{name}` |" in page
    example = page.split("```yaml\n", 1)[1].split("```", 1)[0]
    CensusConfig.model_validate(yaml.safe_load(example))
    assert "docs/census-config.md" in (ROOT / "matchsim" / "cli" / "generate.py").read_text()


def test_scenario_reference_documents_options_and_the_scenario_pupils_default():
    from matchsim.scenario.schema import Scenario

    page = (ROOT / "docs" / "scenario-reference.md").read_text(encoding="utf-8")
    row = next(line for line in page.splitlines() if line.startswith("| `population.pupils`"))
    # A scenario's register is national by default, as a standalone census config's is: the
    # row says so once, with no scenario-specific default beside it.
    assert Scenario().population.pupils is None
    assert "| `null` |" in row and "national density" in row
    assert "In a scenario the default is" not in row
    for heading in (
        "#### `name: sorted_neighbourhood`",
        "#### `kind: date_of_birth`",
        "#### `name: fellegi_sunter`",
    ):
        assert heading in page
    assert "| `window` | `int` | `5` |" in page


def test_list_at_80_columns_has_whole_titles_and_every_description(monkeypatch, capsys):
    from rich.console import Console

    from matchsim.cli import render

    monkeypatch.setattr(render, "console", Console(width=80, force_terminal=False))
    code, out, _ = run(capsys, "list")
    assert code == 0
    for title in (
        "Decision policies (lookup.decision)",
        "Blocking strategies (lookup.blocking)",
        "Name origins (population.names.origins; any Faker locale with sexed names too)",
    ):
        assert title in out
    assert "days days" not in out
    rows = [line for line in out.splitlines() if line.startswith("│ ") and line[2] != " "]
    for line in rows:  # a row that names an entry also describes it
        name, _, text = line.strip("│ ").partition("│")
        assert text.strip(), f"{name.strip()} has no description"
    assert 'Options: key="surname", window=5' in out
    assert max(len(line) for line in out.splitlines()) <= 80


def test_a_plan_near_the_available_memory_needs_force():
    """Within the last 15% of the memory available now, a plan is refused unless forced (other
    processes grow while it runs); above the machine's total it is refused even then."""
    from matchsim.errors import ConfigError
    from matchsim.synth.plan import AVAILABLE_HEADROOM, Estimate, check_plan

    available = 10_000_000_000
    machine = MachineMemory(24_000_000_000, available)
    near = Estimate(1_000_000, int(0.5 * (1 + AVAILABLE_HEADROOM) * available), 1.0, 1_000_000, 1)
    with pytest.raises(ConfigError, match="--force to try anyway"):
        check_plan(near, memory=machine)
    check_plan(near, memory=machine, force=True)
    fits = Estimate(1_000_000, int(0.8 * AVAILABLE_HEADROOM * available), 1.0, 1_000_000, 1)
    check_plan(fits, memory=machine)
    beyond = Estimate(1_000_000, 25_000_000_000, 1.0, 1_000_000, 1)
    with pytest.raises(ConfigError, match="in total"):
        check_plan(beyond, memory=machine, force=True)


def test_the_library_names_parameters_and_the_cli_maps_them_to_flags():
    import ast

    from matchsim.cli.options import PARAMETER_FLAGS, as_flag_error
    from matchsim.errors import ConfigError

    # Outside the command line, no error names a flag.
    for path in (ROOT / "matchsim").rglob("*.py"):
        if "cli" in path.relative_to(ROOT / "matchsim").parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "ConfigError":
                first = node.args[0] if node.args else None
                if isinstance(first, ast.Constant) and isinstance(first.value, str):
                    assert not first.value.startswith("--"), f"{path}:{node.lineno}"
    mapped = as_flag_error(ConfigError("workers", "0 must be at least 1"))
    assert str(mapped) == "--workers: 0 must be at least 1"
    assert str(as_flag_error(ConfigError("overrides", "'x' is not KEY.PATH=VALUE"))).startswith(
        "--set: "
    )
    unmapped = ConfigError("lookup.threshold", "must be in [0, 1]")
    assert as_flag_error(unmapped) is unmapped
    assert all(flag.startswith("--") for flag in PARAMETER_FLAGS.values())
