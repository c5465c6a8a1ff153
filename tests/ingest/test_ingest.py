"""Reading and cleaning the files users bring (matchsim.ingest), and linking them."""

from __future__ import annotations

import codecs
import datetime as dt
import unicodedata

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from matchsim.errors import ConfigError
from matchsim.ingest import (
    FIRST_YEAR,
    LAST_YEAR,
    MISSING_MARKERS,
    clean_table,
    clean_text,
    parse_dates,
    parse_sex,
    read_table,
)
from matchsim.linkage import link_tables

ROLES = {"id": "id", "fn": "forename", "sn": "surname", "dob": "date_of_birth"}
BY_DOB = {"blocking": "exact:dob", "matcher": {"name": "deterministic", "address": "none"}}
RIGHT = pd.DataFrame(
    {
        "id": [7, 8, 9],
        "fn": ["Ann", "Bob", "Cy"],
        "sn": ["Lee", "Ng", "Ox"],
        "dob": ["2010-01-13", "2011-02-03", "2012-01-01"],
    }
)


def left_with(dob: list) -> pd.DataFrame:
    return pd.DataFrame({"id": [1, 2], "fn": ["Ann", "Bob"], "sn": ["Lee", "Ng"], "dob": dob})


def answers(result) -> dict[int, list[int]]:
    return {
        int(i): sorted(int(x) for x in r)
        for i, r in zip(result.decisions["left_id"], result.decisions["returned"], strict=True)
    }


def dates(values, **options) -> list:
    parsed, _, _ = parse_dates(pa.array(values), "left.dob", **options)
    return parsed.to_pylist()


# --- dates of birth ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "dob",
    [
        [20100113, 20110203],  # FEBRL and much administrative data
        ["20100113", "20110203"],
        [20100113.0, 20110203.0],  # pandas' integers beside a missing value
        ["13/01/2010", "03/02/2011"],  # a day over 12 settles DD/MM
        ["01/13/2010", "02/03/2011"],  # a month-position value over 12 settles MM/DD
        ["13-01-2010", "03-02-2011"],
        ["13.01.2010", "03.02.2011"],
        ["2010-01-13T00:00:00Z", "2011-02-03 12:30"],
        ["2010/01/13", "2011.02.03"],
    ],
)
def test_dates_as_files_hold_them_link(dob):
    assert answers(link_tables(left_with(dob), RIGHT, ROLES, **BY_DOB)) == {1: [7], 2: [8]}


def test_detected_day_month_order_reads_every_value_in_it():
    assert dates(["13/01/2010", "03/02/2011"]) == [dt.date(2010, 1, 13), dt.date(2011, 2, 3)]
    assert dates(["01/13/2010", "03/02/2011"]) == [dt.date(2010, 1, 13), dt.date(2011, 3, 2)]
    _, _, how = parse_dates(pa.array(["13/01/2010", "2010-01-02"]), "x")
    assert "DD/MM/YYYY" in how and "YYYY-MM-DD" in how


def test_an_ambiguous_day_month_column_asks_for_the_format_with_two_values():
    with pytest.raises(ConfigError) as info:
        link_tables(left_with(["03/04/2010", "05/06/2011"]), RIGHT, ROLES, **BY_DOB)
    message = str(info.value)
    assert message.startswith("left.dob:")
    assert "'03/04/2010'" in message and "'05/06/2011'" in message
    assert "date_format" in message and "'%d/%m/%Y'" in message and "'%m/%d/%Y'" in message


def test_the_date_format_settles_an_ambiguous_column():
    left = left_with(["01/12/2010", "02/03/2011"])
    day_first = link_tables(left, RIGHT, ROLES, date_format="%d/%m/%Y", **BY_DOB)
    month_first = link_tables(left, RIGHT, ROLES, date_format="%m/%d/%Y", **BY_DOB)
    assert answers(day_first) == {1: [], 2: []}  # 1 December 2010, 2 March 2011
    assert answers(month_first) == {1: [], 2: [8]}  # 12 January 2010, 3 February 2011
    # The right side's ISO dates are still read beside the given format.
    assert day_first.quality.date_formats["left.dob"] == "%d/%m/%Y (given)"
    assert month_first.quality.findings == []


@pytest.mark.parametrize(
    ("fmt", "values", "expected"),
    [
        ("%d.%m.%Y", ["3.4.2001"], [dt.date(2001, 4, 3)]),
        ("%d %b %Y", ["3 Apr 2001", "3 apr 2001"], [dt.date(2001, 4, 3)] * 2),
        ("%B %d, %Y", ["April 3, 2001"], [dt.date(2001, 4, 3)]),
        ("%Y%m%d", [20010403], [dt.date(2001, 4, 3)]),
        ("%d/%m/%Y %H:%M", ["03/04/2001 10:15"], [dt.date(2001, 4, 3)]),
        ("%d/%m/%y", ["03/04/01", "03/04/69"], [dt.date(2001, 4, 3), dt.date(1969, 4, 3)]),
        # ISO values beside the given format are still read
        ("%d/%m/%Y", ["03/04/2001", "2001-04-04"], [dt.date(2001, 4, 3), dt.date(2001, 4, 4)]),
    ],
)
def test_a_given_date_format_is_strptime_syntax(fmt, values, expected):
    assert dates(values, date_format=fmt) == expected


@pytest.mark.parametrize(
    ("fmt", "mentions"),
    [("%d/%m", ["needs %Y or %y"]), ("%d/%m/%Y %Q", ["%Q", "%Y, %y"]), ("%Y/%Y/%m/%d", ["twice"])],
)
def test_a_bad_date_format_names_the_parameter(fmt, mentions):
    with pytest.raises(ConfigError) as info:
        dates(["03/04/2001"], date_format=fmt)
    assert str(info.value).startswith("date_format:")
    for text in mentions:
        assert text in str(info.value)


def test_two_digit_years_are_not_guessed():
    with pytest.raises(ConfigError, match=r"two-digit years.*%d\.%m\.%y"):
        dates(["03.04.01", "05.06.99"])


def test_typo_years_are_missing_and_counted_not_fatal():
    dob = ["2010-01-13", "1679-02-03", "2212-01-01", "2011-02-03"]
    left = pd.DataFrame(
        {
            "id": [1, 2, 3, 4],
            "fn": ["Ann", "Bob", "Cy", "Bob"],
            "sn": ["Lee", "Ng", "Ox", "Ng"],
            "dob": dob,
        }
    )
    result = link_tables(left, RIGHT, ROLES, **BY_DOB)
    assert answers(result) == {1: [7], 2: [], 3: [], 4: [8]}
    assert result.quality.count("date_out_of_range") == 2
    lines = dict(result.quality.lines()[len(result.quality.date_formats) :])
    assert lines["left.dob"].startswith(
        f"2 dates of birth outside {FIRST_YEAR}–{LAST_YEAR} treated as missing"
    )


@pytest.mark.parametrize(
    "values",
    [
        [20100113, 16790203, 22120101],
        pd.to_datetime(["2010-01-13", "1700-02-03", "2212-01-01"]),
        [dt.date(2010, 1, 13), dt.date(1492, 2, 3), dt.date(2212, 1, 1)],
        ["13/01/2010", "03/02/1679", "01/01/2212"],
    ],
)
def test_out_of_range_years_are_counted_whatever_the_column_type(values):
    parsed, findings, _ = parse_dates(pa.array(values), "left.dob")
    assert parsed.to_pylist() == [dt.date(2010, 1, 13), None, None]
    assert [(f.kind, f.count) for f in findings] == [("date_out_of_range", 2)]


def test_impossible_dates_are_missing_and_counted():
    good = ["2001-02-03", "2000-02-29"] * 2
    parsed, findings, _ = parse_dates(
        pa.array(["2001-02-30", "2001-13-01", "1900-02-29", *good]), "left.dob"
    )
    assert (
        parsed.to_pylist() == [None, None, None] + [dt.date(2001, 2, 3), dt.date(2000, 2, 29)] * 2
    )
    assert [(f.kind, f.count) for f in findings] == [("date_unreadable", 3)]
    assert "not real dates" in str(findings[0]) and "'2001-02-30'" in str(findings[0])


def test_a_column_mostly_not_dates_is_refused_naming_two_values():
    with pytest.raises(ConfigError) as info:
        dates(["born in May", "unknown-ish", "2010-01-02"])
    assert "2 of 3" in str(info.value) and "'born in May'" in str(info.value)
    with pytest.raises(ConfigError, match="do not match date_format '%d/%m/%Y'"):
        dates(["2010/01/02x", "xx", "03/04/2001"], date_format="%d/%m/%Y")


def test_dates_that_are_not_date_like_are_refused_with_the_type():
    with pytest.raises(ConfigError, match=r"left\.dob: .*got bool"):
        dates([True, False])
    with pytest.raises(ConfigError, match="fractional"):
        dates([20100113.5])


# --- missing values and text ------------------------------------------------------------------


def test_missing_markers_are_missing_and_counted():
    values = pa.array(
        ["Ann", "", "   ", "NULL", "null", "N/A", "n/a", "NA", "na", "None", "-", "#N/A", None]
    )
    cleaned, findings = clean_text(values, "left.fn")
    assert cleaned.to_pylist() == ["Ann"] + [None] * 12
    assert [(f.kind, f.count) for f in findings] == [("missing_marker", 9)]


def test_na_as_a_surname_is_kept():
    cleaned, _ = clean_text(pa.array(["Na", "NA", "Nash"]), "left.sn")
    assert cleaned.to_pylist() == ["Na", None, "Nash"]


def test_every_documented_marker_is_missing_in_any_case():
    for marker in MISSING_MARKERS:
        for form in (marker, marker.lower(), f"  {marker.title()} "):
            assert clean_text(pa.array([form, "x"]), "f")[0].to_pylist() == [None, "x"]


def test_decomposed_and_composed_accents_are_the_same_value():
    composed, decomposed = "Rue de l'\u00c9glise 3", "Rue de l'E\u0301glise 3"
    left = pd.DataFrame({"id": [1], "sn": ["Lee"], "addr": [decomposed]})
    right = pd.DataFrame({"id": [5, 6], "sn": ["Lee", "Lee"], "addr": [composed, "High St 3"]})
    roles = {"id": "id", "sn": "surname", "addr": "address"}
    result = link_tables(left, right, roles, blocking="exact:address", matcher="weighted")
    assert set(result.pairs()["right_id"]) == {5}


# --- sex ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["Female", "Male"], ["F", "M"]),
        (["female", "male"], ["F", "M"]),
        (["F", "M"], ["F", "M"]),
        (["f", " m "], ["F", "M"]),
        ([2, 1], ["F", "M"]),  # ISO/IEC 5218
        (["2", "1"], ["F", "M"]),
        ([2.0, None], ["F", None]),
        (["U", "unknown"], [None, None]),
        ([9, 0], [None, None]),
        (["X", "Not known"], [None, None]),
        (["NULL", None], [None, None]),
    ],
)
def test_sex_codings_are_understood(values, expected):
    parsed, findings = parse_sex(pa.array(values), "left.sex")
    assert parsed.to_pylist() == expected
    assert all(f.kind == "missing_marker" for f in findings)


def test_a_few_unknown_sex_values_are_counted_and_a_column_of_them_refused():
    parsed, findings = parse_sex(pa.array(["F", "M", "F", "Q"]), "left.sex")
    assert parsed.to_pylist() == ["F", "M", "F", None]
    assert [(f.kind, f.count, f.examples) for f in findings] == [("sex_unrecognised", 1, ("Q",))]
    with pytest.raises(ConfigError) as info:
        parse_sex(pa.array(["Boy?", "Girl?", "M"]), "left.sex")
    message = str(info.value)
    assert message.startswith("left.sex:") and "'Boy?'" in message
    for accepted in ("M/F", "Male/Female", "1/2", "ISO/IEC 5218", "Unknown"):
        assert accepted in message


def test_sex_codes_link_across_codings():
    left = pd.DataFrame({"id": [1, 2], "sn": ["Lee", "Lee"], "sex": ["Female", "m"]})
    right = pd.DataFrame({"id": [5, 6], "sn": ["Lee", "Lee"], "sex": [1, 2]})
    roles = {"id": "id", "sn": "surname", "sex": "sex"}
    result = link_tables(left, right, roles, blocking="exact:surname+sex", matcher="weighted")
    pairs = set(zip(result.pairs()["left_id"], result.pairs()["right_id"], strict=True))
    assert pairs == {(1, 6), (2, 5)}


# --- files --------------------------------------------------------------------------------------


def test_a_latin_1_file_names_itself_and_the_encoding_to_give(tmp_path):
    path = tmp_path / "people.csv"
    path.write_bytes("id,fn\n1,René\n2,Zoë\n".encode("latin-1"))
    with pytest.raises(ConfigError) as info:
        read_table(path, "left", text_columns=("fn",))
    message = str(info.value)
    assert "people.csv" in message and "not UTF-8" in message and "encoding latin-1" in message
    # Also when the column's type is inferred (Arrow reads such a column as bytes).
    with pytest.raises(ConfigError, match=r"not UTF-8.*encoding latin-1"):
        read_table(path, "left")
    table = read_table(path, "left", encoding="latin-1", text_columns=("fn",))
    assert table["fn"].to_pylist() == ["René", "Zoë"]


def test_windows_1252_and_an_unknown_encoding(tmp_path):
    path = tmp_path / "w.csv"
    path.write_bytes("id,sn\n1,O\u2019Brien\n".encode("cp1252"))
    assert read_table(path, encoding="cp1252")["sn"].to_pylist() == ["O\u2019Brien"]
    with pytest.raises(ConfigError, match="encoding: unknown encoding 'klingon'"):
        read_table(path, encoding="klingon")


def test_a_byte_order_mark_just_works(tmp_path):
    path = tmp_path / "bom.csv"
    path.write_bytes(codecs.BOM_UTF8 + "id,fn\n1,René\n".encode())
    for encoding in (None, "latin-1"):  # the mark says UTF-8 whatever was given
        table = read_table(path, encoding=encoding)
        assert table.column_names == ["id", "fn"] and table["fn"].to_pylist() == ["René"]
    utf16 = tmp_path / "u16.csv"
    utf16.write_bytes("id,fn\n1,René\n".encode("utf-16"))
    assert read_table(utf16)["fn"].to_pylist() == ["René"]


def test_semicolon_files_are_read(tmp_path):
    path = tmp_path / "semi.csv"
    path.write_text("id;fn;dob\n1;Ann;13/01/2010\n")
    assert read_table(path).column_names == ["id", "fn", "dob"]


def test_value_columns_are_read_as_text_whatever_comes_late_in_the_file(tmp_path):
    # A YYYYMMDD column with a stray word after Arrow's first block would fail int64 inference.
    rows = ["id,dob,pc"] + [f"{i},20100113,0810" for i in range(60_000)] + ["60000,unknown,0810"]
    path = tmp_path / "late.csv"
    path.write_text("\n".join(rows) + "\n")
    table = read_table(path, text_columns=("dob", "pc"))
    assert table["pc"][0].as_py() == "0810"  # the leading zero of a postcode is kept
    parsed, findings, _ = parse_dates(table["dob"], "left.dob")
    assert parsed.null_count == 1 and [(f.kind, f.count) for f in findings] == [
        ("date_unreadable", 1)
    ]


@pytest.mark.parametrize(
    ("content", "mentions"),
    [
        (b"", "is empty (no header, no rows)"),
        (codecs.BOM_UTF8, "is empty (no header, no rows)"),
        (b"\n\n", "is empty (no header, no rows)"),
        (b"id,fn\n", "has a header but no rows"),
    ],
)
def test_empty_and_header_only_files_are_one_clear_error(tmp_path, content, mentions):
    path = tmp_path / "x.csv"
    path.write_bytes(content)
    with pytest.raises(ConfigError) as info:
        read_table(path, "LEFT")
    assert str(info.value) == f"LEFT: {str(path)!r} {mentions}"


def test_a_missing_column_lists_the_columns():
    with pytest.raises(ConfigError, match=r"left\.dob: no such column; columns are: id, fn"):
        clean_table(
            pd.DataFrame({"id": [1], "fn": ["Ann"]}),
            {"fn": "forename", "dob": "date_of_birth"},
            "left",
        )


def test_a_column_of_only_missing_markers_is_refused_as_empty():
    with pytest.raises(ConfigError, match=r"left\.fn: .*empty"):
        link_tables(
            left_with(["2010-01-13", "2011-02-03"]).assign(fn=["NULL", "N/A"]),
            RIGHT,
            ROLES,
            **BY_DOB,
        )


# --- properties ---------------------------------------------------------------------------------

_DATE_TEXT = st.one_of(
    st.text(max_size=12),
    st.text(alphabet="0123456789/-. T:", max_size=14),
    st.dates(dt.date(1, 1, 1), dt.date(9999, 12, 31)).map(
        lambda d: d.strftime("%Y-%m-%d") if d.year >= 1000 else str(d)
    ),
    st.tuples(st.integers(0, 40), st.integers(0, 40), st.integers(0, 9999)).map(
        lambda t: f"{t[0]:02d}/{t[1]:02d}/{t[2]:04d}"
    ),
    st.sampled_from(["", " ", "NULL", "n/a", "NA", "-"]),
    st.none(),
)


def _parse_or_refusal(values: pa.Array, **options):
    """What parse_dates returns, or the ConfigError it raised (any other error fails)."""
    try:
        return parse_dates(values, "left.dob", **options)
    except ConfigError as exc:
        return exc


def _is_missing(value) -> bool:
    if value is None:
        return True
    text = str(value).strip()
    return text == "" or text.upper() in MISSING_MARKERS or text in ("NA", "na")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_DATE_TEXT, min_size=1, max_size=30), st.sampled_from([None, "%d/%m/%Y", "%Y%m%d"]))
def test_random_date_text_is_parsed_counted_or_refused(values, date_format):
    outcome = _parse_or_refusal(pa.array(values, pa.string()), date_format=date_format)
    if isinstance(outcome, ConfigError):
        assert str(outcome).startswith(("left.dob:", "date_format:"))
        return
    parsed, findings, _ = outcome
    assert len(parsed) == len(values)
    counted = sum(f.count for f in findings if f.kind != "missing_marker")
    missing = sum(_is_missing(v) for v in values)
    assert parsed.null_count == missing + counted
    for value, date in zip(values, parsed.to_pylist(), strict=True):
        if date is not None:
            assert FIRST_YEAR <= date.year <= LAST_YEAR
            assert str(date.year) in value  # the year is read as written


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.integers(-(2**40), 2**40), st.none()), min_size=1, max_size=30))
def test_random_integers_are_parsed_as_yyyymmdd_counted_or_refused(values):
    outcome = _parse_or_refusal(pa.array(values, pa.int64()))
    if isinstance(outcome, ConfigError):
        assert str(outcome).startswith("left.dob:")
        return
    parsed, findings, _ = outcome
    counted = sum(f.count for f in findings)
    assert parsed.null_count == sum(v is None for v in values) + counted
    for value, date in zip(values, parsed.to_pylist(), strict=True):
        if date is not None:
            assert value == date.year * 10_000 + date.month * 100 + date.day


@settings(max_examples=100, deadline=None)
@given(st.lists(st.dates(dt.date(1800, 1, 1), dt.date(2199, 12, 31)), min_size=1, max_size=20))
def test_every_real_date_in_range_reads_back_in_each_form(days):
    iso = [d.isoformat() for d in days]
    compact = [int(d.strftime("%Y%m%d")) for d in days]
    assert dates(iso) == days
    assert dates(compact) == days
    assert dates([d.strftime("%d/%m/%Y") for d in days], date_format="%d/%m/%Y") == days
    as_days = np.array(days, dtype="M8[D]")
    assert dates(pa.array(as_days)) == days


def test_accented_addresses_match_their_plain_spelling():
    left = pd.DataFrame(
        {"id": [1, 2], "sn": ["Lee", "Ng"], "addr": ["Rue de l'Église 3", "Straße 5"]}
    )
    right = pd.DataFrame(
        {
            "id": [5, 6, 7],
            "sn": ["Lee", "Ng", "Ox"],
            "addr": ["RUE DE L'EGLISE 3", "Strasse 5", "Rue 3"],
        }
    )
    roles = {"id": "id", "sn": "surname", "addr": "address"}
    result = link_tables(left, right, roles, blocking="exact:address", matcher="weighted")
    pairs = set(zip(result.pairs()["left_id"], result.pairs()["right_id"], strict=True))
    assert pairs == {(1, 5), (2, 6)}


def test_quoted_values_may_hold_line_breaks(tmp_path):
    path = tmp_path / "lines.csv"
    rows = ["id,addr"] + [f'{i},"{i} High St\nLeeds"' for i in range(20_000)]
    path.write_text("\n".join(rows) + "\n")
    table = read_table(path, text_columns=("addr",))
    assert table.num_rows == 20_000 and table["addr"][5].as_py() == "5 High St\nLeeds"


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.text(max_size=10), st.none()), min_size=1, max_size=20))
def test_random_text_is_cleaned_and_random_sex_values_read_or_refused(values):
    array = pa.array(values, pa.string())
    cleaned, _ = clean_text(array, "left.fn")
    assert len(cleaned) == len(values)
    assert cleaned.null_count == sum(_is_missing(v) for v in values)
    for before, after in zip(values, cleaned.to_pylist(), strict=True):
        if after is not None:
            assert after == unicodedata.normalize("NFC", before.strip())
    try:
        sex, _ = parse_sex(array, "left.sex")
    except ConfigError as exc:
        message = str(exc)
    else:
        message = ""
        assert set(sex.to_pylist()) <= {"M", "F", None}
    assert message == "" or message.startswith("left.sex: sex values such as")


def test_column_names_that_are_not_utf_8_name_the_file(tmp_path):
    path = tmp_path / "names.csv"
    path.write_bytes("id,prénom\n1,Ann\n".encode("latin-1"))
    with pytest.raises(ConfigError, match=r"names\.csv.*not UTF-8.*encoding latin-1"):
        read_table(path, "LEFT")
    assert read_table(path, "LEFT", encoding="latin-1").column_names == ["id", "prénom"]


def test_a_file_not_in_the_given_encoding_names_it(tmp_path):
    path = tmp_path / "plain.csv"
    path.write_text("id,fn\n1,Ann\n")
    with pytest.raises(ConfigError, match=r"plain\.csv' is not utf-16 text"):
        read_table(path, "LEFT", encoding="utf-16")
