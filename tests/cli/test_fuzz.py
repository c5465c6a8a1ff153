"""The command line under fuzzed input: mutated scenarios, grids, seeds and sizes, and messy
CSV files given to ``matchsim link``.

Whatever it is given, every command

* ends with exit code 0, 2 or 130 (never 1, an unexpected failure);
* never prints a traceback, and a refusal (2) is one line starting ``error:``;
* leaves nothing behind when it fails (no partial result that could pass for a finished one),
  and a finished ``run`` leaves a complete result;
* never deletes or changes a file that existed before it ran (every pre-existing file's bytes
  are compared afterwards), including when ``--out`` names the user's own file or folder.

Commands run in-process (``matchsim.cli.main``) so that a few hundred examples fit in CI;
sizes stay tiny or are ones that must be refused before any work (a billion pupils). The
examples are derandomised, so CI sees the same ones every run.
"""

from __future__ import annotations

import copy
import string
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from hypothesis.control import currently_in_test_context

from matchsim.cli import main

FUZZ = settings(
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

#: A scenario small enough to run in about a second.
BASE: dict[str, Any] = {
    "name": "fuzz",
    "seed": 1,
    "population": {"pupils": 800, "names": {"origins": {"british": 0.8, "polish": 0.2}}},
    "requests": {"profile": "research_linkage", "count": 20, "errors": {"forename_typo": 0.2}},
    "lookup": {"matcher": "deterministic", "decision": "unique"},
    "report": {"blocking_tradeoff": False, "examples": 1},
}

#: The user's own files, present before every command and compared byte for byte after it.
USER_FILES = {
    "notes.txt": b"my notes\n",
    "mine.csv": b"id,name\n1,x\n",
    "userdir/keep.txt": b"keep me\n",
    "userdir/sub/k2.txt": b"me too\n",
}


def snapshot(root: Path) -> dict[str, bytes | None]:
    """Every path under ``root``: a file's bytes, ``None`` for a directory."""
    return {
        str(p.relative_to(root)): (p.read_bytes() if p.is_file() else None)
        for p in sorted(root.rglob("*"))
    }


def new_workdir(factory) -> tuple[Path, Path]:
    """(root, cwd): commands run in cwd, two levels below the snapshotted root, so a path
    that climbs out of cwd (``../victim``) is still seen."""
    root = factory.mktemp("fuzz")
    cwd = root / "a" / "cwd"
    cwd.mkdir(parents=True)
    for name, data in USER_FILES.items():
        (cwd / name).parent.mkdir(parents=True, exist_ok=True)
        (cwd / name).write_bytes(data)
    return root, cwd


def check_command(argv: list[str], root: Path, cwd: Path, capfd, monkeypatch, runner=main) -> int:
    """Run ``argv`` in ``cwd`` and check every property in the module docstring."""
    monkeypatch.chdir(cwd)
    before = snapshot(root)
    capfd.readouterr()
    code = runner(argv)
    out, err = capfd.readouterr()
    shown = f"matchsim {' '.join(argv)}\n--- stdout\n{out}\n--- stderr\n{err}"
    if currently_in_test_context():  # --hypothesis-show-statistics: how often each ends
        event(f"exit {code}")
    assert code in (0, 2, 130), f"exit {code}: {shown}"
    assert "Traceback" not in out + err, shown
    if code == 2:
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), shown
    after = snapshot(root)
    for path, content in before.items():
        assert path in after, f"{path} was deleted: {shown}"
        assert after[path] == content, f"{path} was changed: {shown}"
    created = sorted(set(after) - set(before))
    if code != 0:
        assert created == [], f"left behind {created}: {shown}"
    return code


# --- scenarios -----------------------------------------------------------------------------

ODD_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 3),
    st.sampled_from([10**9, 2**70, -(2**63), 0.5, float("nan"), float("inf"), "", "abc"]),
    st.sampled_from(["../victim", "a/../../victim", "x y", "Zoë", "1e3", "null", "[1"]),
    st.lists(st.integers(-1, 2), max_size=2),
    st.dictionaries(st.sampled_from(["name", "x", "kind"]), st.integers(0, 2), max_size=2),
)
SIZES = st.sampled_from([0, -5, 1, 2, 37, 800, 10**9, 250_000_000, 150_000_000, "800", 1.5])
COUNTS = st.sampled_from([0, -1, 1, 3, 20, 10**9, 50_000_000, "x", None])
STRATEGY_NAMES = {
    "matcher": ["deterministic", "cascade", "weighted", "fellegi_sunter", "determinstic", "x"],
    "blocking": ["default", "phonetic", "exact:surname+dob", "sorted_neighbourhood", "ful"],
}
#: Valid strategies, so that a good share of the runs go all the way through.
GOOD_STRATEGIES = {
    "matcher": [
        "weighted",
        "fellegi_sunter",
        "cascade",
        {"name": "weighted", "threshold": 0.6},
        {"name": "deterministic", "address": "either"},
    ],
    "blocking": [
        "default",
        "phonetic",
        "exact:surname+dob",
        {"name": "sorted_neighbourhood", "window": 3},
        ["phonetic", "exact:dob"],
    ],
}
GOOD_VALUES = {
    ("seed",): st.integers(0, 5),
    ("population", "pupils"): st.sampled_from([1, 2, 37, 300, 800]),
    ("requests", "count"): st.sampled_from([1, 3, 20]),
    ("requests", "profile"): st.sampled_from(["immigration", "research_linkage"]),
    ("lookup", "decision"): st.sampled_from(["unique", "best", "all"]),
    ("requests", "errors", "forename_typo"): st.sampled_from([0.0, 0.5, 1.0]),
}
OPTION_KEYS = st.sampled_from(
    ["threshold", "treshold", "require", "window", "windw", "keys", "address", "weights", "x"]
)


def _typo(key: str, position: int) -> str:
    if not key:
        return "x"
    position %= len(key)
    return key[:position] + key[position + 1 :] if len(key) > 1 else key + "x"


def _paths(data: Any, prefix: tuple = ()) -> list[tuple]:
    out = []
    if isinstance(data, dict):
        for key, value in data.items():
            out.append((*prefix, key))
            out.extend(_paths(value, (*prefix, key)))
    return out


@st.composite
def mutated_scenarios(draw) -> dict[str, Any]:
    data = copy.deepcopy(BASE)
    # Valid changes first (about half the scenarios get only these and should run through),
    # then breaking ones.
    for _ in range(draw(st.integers(0, 2))):
        which = draw(st.sampled_from(sorted(GOOD_STRATEGIES)))
        data["lookup"][which] = draw(st.sampled_from(GOOD_STRATEGIES[which]))
        path = draw(st.sampled_from(sorted(GOOD_VALUES)))
        node = data
        for part in path[:-1]:
            node = node[part]
        node[path[-1]] = draw(GOOD_VALUES[path])
    for _ in range(draw(st.integers(0, 2))):
        kind = draw(st.sampled_from(["value", "rename", "delete", "add", "size", "strategy"]))
        paths = _paths(data)
        path = draw(st.sampled_from(paths)) if paths else ("name",)
        parent = data
        for part in path[:-1]:
            parent = parent[part] if isinstance(parent.get(part), dict) else {}
        key = path[-1]
        if kind == "value":
            parent[key] = draw(ODD_VALUES)
        elif kind == "rename" and key in parent:
            parent[_typo(str(key), draw(st.integers(0, 20)))] = parent.pop(key)
        elif kind == "delete":
            parent.pop(key, None)
        elif kind == "add":
            parent[draw(st.text(string.ascii_lowercase + "_", min_size=1, max_size=8))] = draw(
                ODD_VALUES
            )
        elif kind == "size":
            data.setdefault("population", {})
            data["requests"] = (
                data.get("requests") if isinstance(data.get("requests"), dict) else {}
            )
            if isinstance(data["population"], dict):
                data["population"]["pupils"] = draw(SIZES)
            data["requests"]["count"] = draw(COUNTS)
        else:
            which = draw(st.sampled_from(sorted(STRATEGY_NAMES)))
            name = draw(st.sampled_from(STRATEGY_NAMES[which]))
            options = draw(st.dictionaries(OPTION_KEYS, ODD_VALUES, max_size=2))
            spec = {"name": name, **options} if options and ":" not in name else name
            if isinstance(data.get("lookup"), dict):
                data["lookup"][which] = spec
    return data


OUT_CHOICES = st.sampled_from(["out", "out", "out", None, "notes.txt", "userdir", "."])


@pytest.mark.slow
@settings(FUZZ, max_examples=50)
@given(scenario=mutated_scenarios(), out=OUT_CHOICES, seed=st.sampled_from([None, 0, 7, -1, 2**64]))
def test_run_with_mutated_scenarios(scenario, out, seed, tmp_path_factory, capfd, monkeypatch):
    root, cwd = new_workdir(tmp_path_factory)
    (cwd / "s.yaml").write_text(yaml.safe_dump(scenario, allow_unicode=True), encoding="utf-8")
    argv = ["run", "s.yaml", "--quiet"]
    if out is not None:
        argv += ["--out", out]
    if seed is not None:
        argv += ["--seed", str(seed)]
    code = check_command(argv, root, cwd, capfd, monkeypatch)
    if code == 0 and out == "out":
        assert {"metrics.json", "report.html", "scenario.resolved.yaml"} <= {
            p.name for p in (cwd / "out").iterdir()
        }


@settings(FUZZ, max_examples=60)
@given(scenario=mutated_scenarios())
def test_mutated_scenarios_are_refused_or_loaded_in_one_line(scenario, tmp_path_factory, capfd):
    """The loading half alone, quickly and more often: a scenario either loads or is refused
    with a ConfigError (one line), never another exception."""
    from matchsim.errors import MatchsimError
    from matchsim.scenario import load_scenario

    message = ""
    try:
        load_scenario(data=scenario)
    except MatchsimError as exc:
        message = str(exc)
    assert "\n" not in message


#: sweep's options: values that must work, and values that must be refused.
SWEEP_VALID = {
    "--grid": [
        "lookup.decision=all,best",
        "population.pupils=300,600",
        "lookup.matcher=weighted",
        "requests.errors.forename_typo=0,0.5",
    ],
    "--seeds": ["1", "2"],
    # An explicit --out needs its parent directory to exist ("results/sw" is refused where
    # there is no results/): matchsim creates only its own default results/ folder.
    "--out": ["sw", "out/sw"],
}
SWEEP_INVALID = {
    "--grid": [
        "population.pupils=",
        "population.pupils=300,",
        "lookup.matchr=weighted",
        "population.pupils=abc",
        "population.pupils=-1",
        "population.pupils=10000000000",
        "lookup.matcher={name: weighted, treshold: 0.5}",
        "=1",
        "report.examples=1000",
    ],
    "--seeds": ["0", "-1", "x"],
    "--out": ["notes.txt", "userdir", "mine.csv", "."],
}


@pytest.mark.slow
@settings(FUZZ, max_examples=30)
@given(broken=st.sets(st.sampled_from(sorted(SWEEP_INVALID)), max_size=2), data=st.data())
def test_sweep_with_fuzzed_grids_and_seeds(broken, data, tmp_path_factory, capfd, monkeypatch):
    root, cwd = new_workdir(tmp_path_factory)
    (cwd / "s.yaml").write_text(yaml.safe_dump(BASE), encoding="utf-8")
    (cwd / "out").mkdir()
    argv = ["sweep", "s.yaml", "--quiet", "--workers", "1"]
    chosen = {}
    for flag in sorted(SWEEP_VALID):
        pool = SWEEP_INVALID[flag] if flag in broken else SWEEP_VALID[flag]
        chosen[flag] = data.draw(st.sampled_from(pool), label=flag)
        argv += [flag, chosen[flag]]
    code = check_command(argv, root, cwd, capfd, monkeypatch)
    if not broken:
        assert code == 0
    if code == 0:
        out = cwd / chosen["--out"]
        assert (out / "sweep.html").is_file() and (out / "results.csv").is_file()


# --- generate --------------------------------------------------------------------------------


#: generate's options: values that must work, and values that must be refused.
GENERATE_VALID = {
    "--pupils": ["300", "1", "5", "120"],
    "--seed": ["0", "3", str(2**63 - 1)],
    "--birth-years": [None, "2005-2007"],
    "--census-date": [None, "2024-01-18", "2023-10-05"],
    "--origins": [None, "british=1", "british=0.7,polish=0.3"],
    "--out": ["c.parquet", "c.csv", "sub.parquet"],
}
GENERATE_INVALID = {
    "--pupils": ["0", "-3", "1000000000", "200000000", "x", ""],
    "--seed": ["-1", str(2**64), "x"],
    "--birth-years": ["2007-2005", "1800-1801", "x", "2030-2031"],
    "--census-date": ["2024-02-30", "18/01/2024", ""],
    "--origins": ["british=0.5,xx_YY=0.5", "british=2", "=1", "british"],
    "--out": ["c.txt", "notes.txt", "mine.csv", "userdir", "nodir/c.csv", "."],
}


@settings(FUZZ, max_examples=40)
@given(
    broken=st.sets(st.sampled_from(sorted(GENERATE_INVALID)), max_size=2),
    data=st.data(),
)
def test_generate_with_fuzzed_options(broken, data, tmp_path_factory, capfd, monkeypatch):
    root, cwd = new_workdir(tmp_path_factory)
    argv = ["generate", "--quiet"]
    chosen = {}
    for flag in sorted(GENERATE_VALID):
        pool = GENERATE_INVALID[flag] if flag in broken else GENERATE_VALID[flag]
        chosen[flag] = data.draw(st.sampled_from(pool), label=flag)
        if chosen[flag] is not None:
            argv += [flag, chosen[flag]]
    code = check_command(argv, root, cwd, capfd, monkeypatch)
    if not broken:
        assert code == 0
    if code == 0:
        assert (cwd / chosen["--out"]).is_file()


# --- link with messy files -------------------------------------------------------------------


@pytest.fixture(scope="module")
def link_tables():
    """A small register and noisy copies of some of its people, as data frames of text."""
    from matchsim.requests import RequestConfig, generate_requests
    from matchsim.synth import CensusConfig, generate_census

    census = generate_census(CensusConfig(pupils=600), seed=3)
    requests = generate_requests(
        census, RequestConfig(profile="research_linkage", count=60), seed=4
    )
    columns = ["forename", "surname", "date_of_birth", "sex", "postcode"]
    right = census.pupils_frame[["pupil_id", *columns]].rename(columns={"pupil_id": "id"})
    left = requests.table.to_pandas()[["request_id", *columns]].rename(columns={"request_id": "id"})
    return left.astype(str), right.astype(str)


DATE_STYLES = ["iso", "yyyymmdd", "dmy", "mdy", "typo_years", "garbage", "blank"]
SEX_STYLES = ["MF", "words", "digits", "lower", "garbage"]


def _messy(frame: pd.DataFrame, date_style: str, sex_style: str, rows: int) -> pd.DataFrame:
    frame = frame.head(rows).copy()
    dates = pd.to_datetime(frame["date_of_birth"], errors="coerce")
    if date_style == "yyyymmdd":
        frame["date_of_birth"] = dates.dt.strftime("%Y%m%d")
    elif date_style == "dmy":
        frame["date_of_birth"] = dates.dt.strftime("%d/%m/%Y")
    elif date_style == "mdy":
        frame["date_of_birth"] = dates.dt.strftime("%m/%d/%Y")
    elif date_style == "typo_years" and len(frame):
        frame.loc[frame.index[:: max(1, len(frame) // 5)], "date_of_birth"] = "1679-05-02"
        frame.loc[frame.index[1::7], "date_of_birth"] = "2212-12-31"
    elif date_style == "garbage" and len(frame):
        frame.loc[frame.index[::3], "date_of_birth"] = "not a date"
    elif date_style == "blank" and len(frame):
        frame.loc[frame.index[::2], "date_of_birth"] = ""
    sexes = {
        "words": {"M": "Male", "F": "Female"},
        "digits": {"M": "1", "F": "2"},
        "lower": {"M": "m", "F": "female"},
        "garbage": {"M": "?", "F": "X"},
    }.get(sex_style)
    if sexes:
        frame["sex"] = frame["sex"].map(sexes).fillna("")
    if len(frame) > 2:  # non-ASCII names, which other encodings carry differently
        frame.loc[frame.index[0], "forename"] = "Zoë"
        frame.loc[frame.index[1], "surname"] = "Łukasiewicz"
        frame.loc[frame.index[2], "forename"] = "N/A"
    return frame


def _write(frame: pd.DataFrame, path: Path, encoding: str, shape: str) -> None:
    if shape == "empty":
        path.write_bytes(b"")
        return
    if shape == "header_only":
        frame = frame.head(0)
    text = frame.to_csv(index=False)
    path.write_bytes(text.encode(encoding, errors="replace"))


@pytest.mark.slow
@settings(FUZZ, max_examples=80)
@given(
    encoding=st.sampled_from(["utf-8", "utf-8", "utf-8-sig", "latin-1", "cp1252", "utf-16"]),
    date_style=st.sampled_from(DATE_STYLES),
    sex_style=st.sampled_from(SEX_STYLES),
    rows=st.sampled_from([1, 5, 60]),
    shape=st.sampled_from(["full", "full", "full", "empty", "header_only"]),
    drop=st.sampled_from([None, "forename", "date_of_birth", "sex", "id"]),
    extra=st.booleans(),
    matcher=st.sampled_from(["fellegi_sunter", "deterministic", "weighted"]),
    out=st.sampled_from(["pairs.csv", "pairs.parquet", "pairs.csv", "mine.csv", "userdir"]),
)
def test_link_with_messy_files(
    link_tables,
    encoding,
    date_style,
    sex_style,
    rows,
    shape,
    drop,
    extra,
    matcher,
    out,
    tmp_path_factory,
    capfd,
    monkeypatch,
):
    root, cwd = new_workdir(tmp_path_factory)
    left, right = link_tables
    left = _messy(left, date_style, sex_style, rows)
    right = _messy(right, "iso", "MF", 600)
    if drop is not None:
        left = left.drop(columns=[drop])
    if extra:
        left["nationality"] = "x"
        left["notes, with comma"] = "a;b"
    _write(left, cwd / "left.csv", encoding, shape)
    _write(right, cwd / "right.csv", "utf-8", "full")
    argv = ["link", "left.csv", "right.csv", "--out", out, "--matcher", matcher, "--quiet"]
    for column in ("id", "forename", "surname", "date_of_birth", "sex", "postcode"):
        argv += ["--map", f"{column}={column}"]
    code = check_command(argv, root, cwd, capfd, monkeypatch)
    if code == 0:
        assert (cwd / out).is_file()


def test_snapshot_sees_changes_deletions_and_new_files(tmp_path_factory, capfd, monkeypatch):
    """The checker itself: it must fail on exactly what it guards against."""
    root, cwd = new_workdir(tmp_path_factory)
    before = snapshot(root)
    (cwd / "notes.txt").write_bytes(b"changed")
    assert snapshot(root) != before
    (cwd / "userdir" / "sub" / "k2.txt").unlink()
    assert "a/cwd/userdir/sub/k2.txt" not in snapshot(root)
    root, cwd = new_workdir(tmp_path_factory)

    def leaves_a_file(argv: list[str]) -> int:
        (cwd / "half.csv").write_text("a")
        print("error: refused")
        return 2

    def deletes(argv: list[str]) -> int:
        (cwd / "notes.txt").unlink()
        return 0

    for runner in (leaves_a_file, deletes, lambda argv: 1):
        with pytest.raises(AssertionError):
            check_command(["x"], root, cwd, capfd, monkeypatch, runner=runner)
