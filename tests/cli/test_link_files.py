"""`matchsim link` on files as they come: odd dates, encodings, missing markers, sex codes,
empty files; each gives a result or one line with exit code 2, never a traceback."""

from __future__ import annotations

import codecs
import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from matchsim.cli import main

FORENAMES = ["Ann", "Bob", "Cy", "Dee", "Eve", "Fay", "Gus", "Hal", "Ida", "Jo", "Kit", "Lou"]
SURNAMES = ["Lee", "Ng", "Ox", "Poe", "Roe", "Sze", "Tay", "Uhl", "Vaz", "Wu", "Yeo", "Zak"]


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def people(n: int = 24) -> pd.DataFrame:
    """n people with distinct names and dates of birth (days over 12 and under)."""
    born = [dt.date(2005, 1, 1) + dt.timedelta(days=37 * i) for i in range(n)]
    return pd.DataFrame(
        {
            "id": range(1, n + 1),
            "forename": [FORENAMES[i % 12] for i in range(n)],
            "surname": [SURNAMES[(i * 5 + i // 12) % 12] for i in range(n)],
            "dob": born,
            "sex": ["F" if i % 2 else "M" for i in range(n)],
        }
    )


def write(frame: pd.DataFrame, path: Path, encoding: str = "utf-8") -> Path:
    frame.to_csv(path, index=False, encoding=encoding)
    return path


def link(
    capsys, left: Path, right: Path, out: Path, *extra: str, roles=("forename", "surname", "dob")
):
    maps = ["--map", "id=id"]
    for column in roles:
        maps += ["--map", f"{column}={'date_of_birth' if column == 'dob' else column}"]
    return run(
        capsys,
        "link",
        str(left),
        str(right),
        *maps,
        "--blocking",
        "exact:dob",
        "--matcher",
        "weighted",
        "--out",
        str(out),
        *extra,
    )


def matched(out: Path) -> set[tuple[int, int]]:
    pairs = pd.read_csv(out) if out.suffix == ".csv" else pd.read_parquet(out)
    chosen = pairs[pairs["decision"]]
    return set(zip(chosen["left_id"], chosen["right_id"], strict=True))


@pytest.fixture
def right(tmp_path) -> Path:
    frame = people()
    return write(frame.assign(dob=[d.isoformat() for d in frame["dob"]]), tmp_path / "right.csv")


IDENTITY = {(i, i) for i in range(1, 25)}


@pytest.mark.parametrize(
    ("form", "how"),
    [
        (lambda d: int(d.strftime("%Y%m%d")), "YYYYMMDD"),
        (lambda d: d.strftime("%d/%m/%Y"), "DD/MM/YYYY"),
        (lambda d: d.strftime("%m/%d/%Y"), "MM/DD/YYYY"),
        (lambda d: d.strftime("%d-%m-%Y"), "DD-MM-YYYY"),
        (lambda d: d.strftime("%d.%m.%Y"), "DD.MM.YYYY"),
        (lambda d: d.isoformat() + "T00:00:00", "YYYY-MM-DD"),
    ],
)
def test_dates_in_each_form_link(tmp_path, capsys, right, form, how):
    frame = people()
    left = write(frame.assign(dob=frame["dob"].map(form)), tmp_path / "left.csv")
    code, stdout, stderr = link(capsys, left, right, tmp_path / "p.csv")
    assert code == 0, stderr
    assert matched(tmp_path / "p.csv") == IDENTITY
    assert f"left.dob: dates read as {how} (detected)" in stdout


def test_an_ambiguous_date_column_asks_for_the_format_then_links_with_it(tmp_path, capsys, right):
    frame = people().iloc[:3]  # days 1, 7 and 13 of months 1, 2, 3: only the third settles it
    frame = frame.assign(dob=[dt.date(2005, 1, 2), dt.date(2005, 3, 4), dt.date(2006, 5, 6)])
    left = write(
        frame.assign(dob=frame["dob"].map(lambda d: d.strftime("%d/%m/%Y"))), tmp_path / "l.csv"
    )
    out = tmp_path / "p.csv"
    code, _, stderr = link(capsys, left, right, out)
    assert code == 2 and len(stderr.strip().splitlines()) == 1
    assert "left.dob" in stderr and "--date-format '%d/%m/%Y' or '%m/%d/%Y'" in stderr
    assert "'02/01/2005'" in stderr and "'04/03/2005'" in stderr
    assert "Traceback" not in stderr and not out.exists()
    code, stdout, stderr = link(capsys, left, right, out, "--date-format", "%d/%m/%Y")
    assert code == 0, stderr
    assert "left.dob: dates read as %d/%m/%Y (given)" in stdout


def test_typo_years_are_counted_in_the_summary_not_fatal(tmp_path, capsys, right):
    frame = people()
    dob = [int(d.strftime("%Y%m%d")) for d in frame["dob"]]
    dob[3], dob[9] = 16790203, 22120101
    left = write(frame.assign(dob=dob), tmp_path / "left.csv")
    code, stdout, stderr = link(capsys, left, right, tmp_path / "p.csv")
    assert code == 0, stderr
    assert "left.dob: 2 dates of birth outside 1800–2199 treated as missing" in stdout
    assert matched(tmp_path / "p.csv") == IDENTITY - {(4, 4), (10, 10)}


def test_a_latin_1_file_is_named_with_the_way_out(tmp_path, capsys, right):
    frame = people().assign(forename=lambda f: f["forename"].str.replace("Ann", "Anné"))
    frame = frame.assign(dob=[d.isoformat() for d in frame["dob"]])
    left = write(frame, tmp_path / "latin.csv", encoding="latin-1")
    out = tmp_path / "p.csv"
    code, _, stderr = link(capsys, left, right, out)
    assert code == 2 and len(stderr.strip().splitlines()) == 1
    assert "latin.csv" in stderr and "is not UTF-8" in stderr and "--encoding latin-1" in stderr
    assert not out.exists()
    code, _, stderr = link(capsys, left, right, out, "--encoding", "latin-1")
    assert code == 0, stderr
    assert len(matched(out)) >= 20


def test_a_byte_order_mark_just_works(tmp_path, capsys, right):
    frame = people()
    left = tmp_path / "bom.csv"
    left.write_bytes(
        codecs.BOM_UTF8 + frame.assign(dob=frame["dob"].map(str)).to_csv(index=False).encode()
    )
    code, _, stderr = link(capsys, left, right, tmp_path / "p.csv")
    assert code == 0, stderr
    assert matched(tmp_path / "p.csv") == IDENTITY


def test_missing_markers_and_sex_codes(tmp_path, capsys, right):
    frame = people()
    frame = frame.assign(
        dob=[d.strftime("%d/%m/%Y") for d in frame["dob"]],
        sex=frame["sex"].map({"F": 2, "M": 1}),
    )
    frame.loc[0, "forename"] = "NULL"
    frame.loc[1, "forename"] = " n/a "
    frame.loc[2, "dob"] = "N/A"
    left = write(frame, tmp_path / "left.csv")
    right_frame = pd.read_csv(right).assign(
        sex=lambda f: f["sex"].map({"F": "Female", "M": "male"})
    )
    write(right_frame, right)
    roles = ("forename", "surname", "dob", "sex")
    code, stdout, stderr = link(capsys, left, right, tmp_path / "p.csv", roles=roles)
    assert code == 0, stderr
    assert "left.forename: 2 values read as missing" in stdout
    assert "left.dob: 1 value read as missing" in stdout
    assert (3, 3) not in matched(tmp_path / "p.csv")  # no date of birth to block on


def test_a_sex_column_of_other_values_lists_what_is_understood(tmp_path, capsys, right):
    frame = people().assign(sex="boy?")
    left = write(frame.assign(dob=frame["dob"].map(str)), tmp_path / "left.csv")
    code, _, stderr = link(capsys, left, right, tmp_path / "p.csv", roles=("surname", "dob", "sex"))
    assert code == 2 and len(stderr.strip().splitlines()) == 1
    assert "left.sex" in stderr and "M/F, Male/Female, 1/2" in stderr


@pytest.mark.parametrize(
    ("content", "mentions"),
    [
        (b"", "is empty (no header, no rows)"),
        (b"id,forename,surname,dob\n", "has a header but no rows"),
        (
            b"id,forename,surname\n1,Ann,Lee\n",
            "left.dob: no such column; columns are: id, forename, surname",
        ),
        (b"id,forename,surname,dob\n1,Ann,Lee,sometime\n", "left.dob: 1 of 1 values are not dates"),
        (
            b"id,forename,forename,surname,dob\n1,Ann,Bo,Lee,2005-01-01\n",
            "2 columns named 'forename'",
        ),
        (b"id,forename,surname,dob\n1,Ann,Lee,2005-01-01,9\n", "Expected 4 columns, got 5"),
    ],
)
def test_unusable_files_are_one_line(tmp_path, capsys, right, content, mentions):
    left = tmp_path / "left.csv"
    left.write_bytes(content)
    out = tmp_path / "p.csv"
    code, _, stderr = link(capsys, left, right, out)
    assert code == 2 and len(stderr.strip().splitlines()) == 1, stderr
    assert mentions in stderr and "Traceback" not in stderr
    assert not out.exists()


def test_extra_columns_are_ignored(tmp_path, capsys, right):
    frame = people().assign(notes="anything, even ; odd", dob=lambda f: f["dob"].map(str))
    left = write(frame, tmp_path / "left.csv")
    assert link(capsys, left, right, tmp_path / "p.csv")[0] == 0


@pytest.mark.parametrize(
    ("extra", "mentions"),
    [
        (["--encoding", "klingon"], "--encoding: unknown encoding 'klingon'"),
        (["--date-format", "%d/%m/%Q"], "--date-format: '%d/%m/%Q': %Q is not supported"),
        (["--date-format", "%d/%m"], "--date-format: '%d/%m' needs %Y or %y"),
    ],
)
def test_bad_options_are_one_line(tmp_path, capsys, right, extra, mentions):
    frame = people()
    left = write(
        frame.assign(dob=frame["dob"].map(lambda d: d.strftime("%d/%m/%Y"))), tmp_path / "l.csv"
    )
    code, _, stderr = link(capsys, left, right, tmp_path / "p.csv", *extra)
    assert code == 2 and mentions in stderr and len(stderr.strip().splitlines()) == 1


def test_the_summary_lists_blocking_passes_one_a_line(tmp_path, capsys, right):
    frame = people()
    left = write(frame.assign(dob=frame["dob"].map(str)), tmp_path / "left.csv")
    code, stdout, stderr = run(
        capsys,
        "link",
        str(left),
        str(right),
        "--map",
        "id=id",
        "--map",
        "forename=forename",
        "--map",
        "surname=surname",
        "--map",
        "dob=date_of_birth",
        "--out",
        str(tmp_path / "p.parquet"),
    )
    assert code == 0, stderr
    lines = stdout.splitlines()
    assert any("passes, listed below" in line for line in lines)
    after = lines[lines.index("Blocking passes (the candidates are their union):") + 1 :]
    passes = [line.strip() for line in after[: after.index("Input data:")]]
    assert "exact(surname:soundex + dob)" in passes
    assert "exact(forename:soundex + dob)" in passes
    assert all(line.startswith("exact(") for line in passes), passes
    # Three core passes on these roles; two small tables also afford the broad ones.
    assert passes[3:] == ["exact(forename:soundex + surname:soundex)", "exact(dob)"], passes


def test_parquet_dates_out_of_range_are_counted(tmp_path, capsys, right):
    frame = people()
    dob = list(frame["dob"])
    dob[0] = dt.date(1700, 1, 1)
    left = tmp_path / "left.parquet"
    frame.assign(dob=dob).to_parquet(left)
    code, stdout, stderr = link(capsys, left, right, tmp_path / "p.parquet")
    assert code == 0, stderr
    assert (
        "left.dob: 1 date of birth outside 1800–2199 treated as missing (e.g. '1700-01-01')"
        in stdout
    )
    assert matched(tmp_path / "p.parquet") == IDENTITY - {(1, 1)}
