"""The compiled kernels against the numpy reference, and the Jaro-Winkler bound they rely on.

(The tests here compare the two implementations directly, through ``compare(kernel=...)``.)
"""

from __future__ import annotations

from contextlib import contextmanager

import numpy as np
import pandas as pd
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from numba import njit
from rapidfuzz.distance import JaroWinkler

from matchsim.comparison import (
    DateOfBirthComparison,
    ExactComparison,
    NameComparison,
    PostcodeComparison,
    codes,
    compare,
    kernels,
    warm_kernels,
)
from matchsim.errors import ConfigError
from matchsim.records import prepare

# Names that reach every branch: ASCII and not, spaces, hyphens, apostrophes, a letter five
# times (no bound), lower case, short and long values.
name_text = st.one_of(
    st.text(alphabet=st.sampled_from("ABEHILMNORSTWY"), min_size=1, max_size=9),
    st.text(alphabet=st.sampled_from("AEIOUBCDHW '-aéÖß"), min_size=1, max_size=12),
    st.sampled_from(["AAAAAB", "ANNA-MARIE", "O'BRIEN", "MUHAMMAD", "MOHAMMED", "ZOË", "LI"]),
)
postcode_text = st.one_of(
    st.from_regex(r"[A-Z]{1,2}[0-9][0-9A-Z]? ?[0-9][A-Z]{2}", fullmatch=True),
    st.sampled_from(
        ["LS12 3AB", "LS12 3AD", "LS1 1AA", "B1", "SW1A 1AA", "LONGER THAN8", "É1 1AA"]
    ),
)


@contextmanager
def feature_rows(layout: str):
    """Feature tables with a row per vocabulary code (what small vocabularies get) or a row
    per used value (what a vocabulary far larger than the pairs gets)."""
    before = codes.TABLE_BYTES_PER_PAIR, codes.TABLE_FLOOR_BYTES
    if layout == "per_used_value":
        codes.TABLE_BYTES_PER_PAIR, codes.TABLE_FLOOR_BYTES = 0, 0
    try:
        yield
    finally:
        codes.TABLE_BYTES_PER_PAIR, codes.TABLE_FLOOR_BYTES = before


rows_layouts = st.sampled_from(["per_code", "per_used_value"])


def both(make_data, left, right, chosen, rows="per_code") -> tuple[np.ndarray, np.ndarray]:
    out = []
    for name in ("numba", "numpy"):
        with feature_rows(rows):
            out.append(compare(make_data(), left, right, chosen, workers=1, kernel=name).levels)
    return out[0], out[1]


def cross(n_left: int, n_right: int) -> tuple[np.ndarray, np.ndarray]:
    return np.repeat(np.arange(n_left), n_right), np.tile(np.arange(n_right), n_left)


@settings(max_examples=60, deadline=None)
@given(
    left=st.lists(st.tuples(name_text | st.none(), name_text | st.none()), min_size=1, max_size=12),
    right=st.lists(
        st.tuples(name_text | st.none(), name_text | st.none()), min_size=1, max_size=12
    ),
    thresholds=st.sampled_from([(0.92, 0.8), (0.95,), (0.9, 0.7, 0.5), (1.0, 0.3)]),
    similarity=st.sampled_from(["jaro_winkler", "jaro", "levenshtein"]),
    phonetic=st.sampled_from(["soundex", "metaphone", None]),
    first3=st.booleans(),
    initial=st.booleans(),
    rows=rows_layouts,
)
@example(
    left=[("MARTHA", "SMITH")],
    right=[("MARHTA", "SMITH")],
    thresholds=(0.92, 0.8),
    similarity="jaro_winkler",
    phonetic="soundex",
    first3=True,
    initial=True,
    rows="per_used_value",
)
def test_name_kernels_give_the_reference_levels(
    left, right, thresholds, similarity, phonetic, first3, initial, rows
):
    # (An anchor row, so that no column is entirely empty.)
    lf = pd.DataFrame([*left, ("ANCHOR", "ANCHOR")], columns=["fn", "sn"], dtype=object)
    rf = pd.DataFrame([*right, ("ANCHOR", "ANCHOR")], columns=["fn", "sn"], dtype=object)
    chosen = [
        NameComparison(
            role,
            similarity=similarity,
            thresholds=thresholds,
            phonetic=phonetic,
            first3=first3,
            initial=initial,
        )
        for role in ("forename", "surname")
    ]
    li, ri = cross(len(lf), len(rf))
    compiled, reference = both(
        lambda: prepare(lf, rf, {"fn": "forename", "sn": "surname"}), li, ri, chosen, rows
    )
    np.testing.assert_array_equal(compiled, reference)


@settings(max_examples=40, deadline=None)
@given(
    left=st.lists(postcode_text | st.none(), min_size=1, max_size=15),
    right=st.lists(postcode_text | st.none(), min_size=1, max_size=15),
    rows=rows_layouts,
)
def test_postcode_kernel_gives_the_reference_levels(left, right, rows):
    lf = pd.DataFrame({"pc": [*left, "ZZ1 1ZZ"]}, dtype=object)
    rf = pd.DataFrame({"pc": [*right, "ZZ1 1ZZ"]}, dtype=object)
    li, ri = cross(len(lf), len(rf))
    compiled, reference = both(
        lambda: prepare(lf, rf, {"pc": "postcode"}), li, ri, [PostcodeComparison()], rows
    )
    np.testing.assert_array_equal(compiled, reference)


@pytest.mark.slow  # about a million pairs of dates, through both kernels
def test_date_kernel_gives_the_reference_levels_across_the_whole_calendar():
    """Every day from 1800 to 2199 against itself, its neighbours, the same day a year and
    a century on, and its day and month swapped: the kernel's calendar arithmetic against the
    numpy reference's calendar table."""
    days = pd.date_range("1800-01-01", "2199-12-31", freq="D")
    first, last = days[0], days[-1]
    partners = [
        days,
        days + pd.Timedelta(days=1),
        days - pd.Timedelta(days=1),
        days + pd.DateOffset(years=1),
        days - pd.DateOffset(years=100),
        days + pd.Timedelta(days=400),
        days[np.random.default_rng(7).permutation(len(days))],
    ]
    left_text, right_text = [], []
    for partner in partners:
        inside = (partner >= first) & (partner <= last)
        left_text += list(days[inside].strftime("%Y-%m-%d"))
        right_text += list(partner[inside].strftime("%Y-%m-%d"))
    for d in days[days.day <= 12]:  # day and month swapped
        left_text.append(d.strftime("%Y-%m-%d"))
        right_text.append(f"{d.year:04d}-{d.day:02d}-{d.month:02d}")
    left = pd.DataFrame({"dob": left_text})
    right = pd.DataFrame({"dob": right_text})
    li = ri = np.arange(len(left))
    chosen = [DateOfBirthComparison(), DateOfBirthComparison(name="dob_30", days=30)]
    compiled, reference = both(
        lambda: prepare(left, right, {"dob": "date_of_birth"}), li, ri, chosen
    )
    np.testing.assert_array_equal(compiled, reference)
    assert set(np.unique(reference[:, 0])) == set(range(1, 8))  # every level but missing


def test_a_date_outside_the_calendar_fails_alike_on_both():
    left = pd.DataFrame({"dob": ["1700-01-01"]})
    right = pd.DataFrame({"dob": ["2000-01-01"]})
    for name in ("numba", "numpy"):
        data = prepare(left, right, {"dob": "date_of_birth"})
        with pytest.raises(ValueError, match="1800 and 2199"):
            compare(data, np.array([0]), np.array([0]), [DateOfBirthComparison()], kernel=name)


@njit
def _bound_of(a, b):  # pragma: no cover
    table = kernels.name_value_features(
        np.array([0, len(a), len(a) + len(b)], dtype=np.int32),
        np.concatenate((a, b)),
        np.array([0, 1]),
        np.array([0, 1]),
        2,
        np.zeros(256, dtype=np.int8),
        48,
    )[0]
    bounded = table[0, kernels.BOUNDED] != 0 and table[1, kernels.BOUNDED] != 0
    return kernels._bound_of_rows(table, 0, 1), bounded


ascii_words = st.text(alphabet=st.sampled_from("ABCDEHILMNORSTWYaeo-' "), min_size=1, max_size=16)


@settings(max_examples=400, deadline=None)
@given(a=ascii_words, b=ascii_words)
@example(a="MARTHA", b="MARHTA")
@example(a="DWAYNE", b="DUANE")
@example(a="AAAAAA", b="AAAAAB")
@example(a="A", b="B")
def test_the_jaro_winkler_bound_is_never_below_rapidfuzz(a, b):
    bound, bounded = _bound_of(
        np.frombuffer(a.encode(), np.uint8), np.frombuffer(b.encode(), np.uint8)
    )
    if bounded:
        assert bound >= JaroWinkler.normalized_similarity(a, b) - 1e-12


def test_the_bound_rules_out_most_unlike_names():
    """The bound is an optimisation only if it is tight enough to rule pairs out."""
    names = ["OLIVER", "AMELIA", "MOHAMMED", "ISLA", "GEORGE", "KHAN", "PATEL", "SMITH", "LI"]
    below = 0
    for a in names:
        for b in names:
            bound, _ = _bound_of(
                np.frombuffer(a.encode(), np.uint8), np.frombuffer(b.encode(), np.uint8)
            )
            below += bound < 0.8
    assert below >= 0.6 * (len(names) ** 2 - len(names))


def test_results_do_not_depend_on_threads():
    frame = pd.DataFrame(
        {
            "fn": ["OLIVER", "OLIVIA", "JACK", None] * 6_000,
            "dob": ["2010-01-02", "2010-02-01", None, "2011-01-02"] * 6_000,
        }
    )
    data = prepare(frame, frame, {"fn": "forename", "dob": "date_of_birth"})
    rng = np.random.default_rng(3)
    left, right = rng.integers(0, len(frame), 50_000), rng.integers(0, len(frame), 50_000)
    one = compare(data, left, right, ["forename", "date_of_birth"], workers=1).levels
    two = compare(data, left, right, ["forename", "date_of_birth"], workers=2).levels
    np.testing.assert_array_equal(one, two)


@pytest.mark.parametrize("workers", [0, -1, 1.5, True, "2"])
def test_workers_must_be_a_whole_number_from_1(workers):
    frame = pd.DataFrame({"fn": ["A"]})
    data = prepare(frame, frame, {"fn": "forename"})
    with pytest.raises(ConfigError, match="workers"):
        compare(data, np.array([0]), np.array([0]), ["forename"], workers=workers)


def test_both_kernels_give_the_same_levels_for_the_default_comparisons():
    frame = pd.DataFrame(
        {
            "fn": ["OLIVER", "OLIVIA", "Zoë", None, "SMITH", "MOHAMMED"] * 50,
            "sn": ["SMITH", "SMYTH", "OLIVER", "KHAN", "OLIVER", "MUHAMMAD"] * 50,
            "dob": ["2010-01-02", "2010-02-01", None, "2011-01-02", "2010-01-03", "2012-12-31"]
            * 50,
            "pc": ["LS12 3AB", "LS12 3AD", "LS1 1AA", None, "M1 1AE", "É1 1AA"] * 50,
            "ad": ["12 High Rd", "12 High Road", "7 Mill Ln", None, "1 Station Road", "Flat 2"]
            * 50,
            "sx": ["M", "F", "F", None, "M", "m"] * 50,
        }
    )
    roles = {
        "fn": "forename",
        "sn": "surname",
        "dob": "date_of_birth",
        "pc": "postcode",
        "ad": "address",
        "sx": "sex",
    }
    data = prepare(frame, frame.iloc[::-1].reset_index(drop=True), roles)
    left, right = cross(len(frame) // 10, len(frame))
    compiled = compare(data, left, right, kernel="numba")
    reference = compare(data, left, right, kernel="numpy")
    assert [c.name for c in compiled.comparisons] == [c.name for c in reference.comparisons]
    np.testing.assert_array_equal(compiled.levels, reference.levels)
    assert len(np.unique(reference.levels[:, 0])) > 3  # the forenames reach several levels


@pytest.mark.parametrize("kernel", ["gpu", "NUMBA", "", None, 1])
def test_an_unknown_kernel_is_refused_by_name(kernel):
    frame = pd.DataFrame({"fn": ["A"]})
    data = prepare(frame, frame, {"fn": "forename"})
    with pytest.raises(ConfigError, match=r"^kernel: .*auto, numba, numpy") as error:
        compare(data, np.array([0]), np.array([0]), ["forename"], kernel=kernel)
    assert error.value.field == "kernel"
    with pytest.raises(ConfigError, match=r"^kernel: "):
        warm_kernels(kernel)


def test_warming_loads_every_kernel_with_the_types_real_lookups_pass():
    """``prepare_register`` warms the kernels so that the first batch pays no loading: a
    lookup afterwards must need no kernel signature that warming did not load."""
    from matchsim.linkage import lookup, prepare_register
    from matchsim.requests import RequestConfig, generate_requests
    from matchsim.synth import CensusConfig, generate_census

    warm_kernels("numba")
    compiled = {
        name: len(getattr(kernels, name).signatures)
        for name in dir(kernels)
        if hasattr(getattr(kernels, name), "signatures") and not name.startswith("_")
    }
    compiled.pop("jaro_winkler_bound")  # inlined into name_pair_levels
    assert all(count >= 1 for count in compiled.values()), compiled
    census = generate_census(CensusConfig(pupils=3_000), 5, workers=1)
    register = prepare_register(census)
    requests = generate_requests(census, RequestConfig(profile="immigration", count=200), 6)
    lookup(census, requests, register=register)
    after = {name: len(getattr(kernels, name).signatures) for name in compiled}
    assert after == compiled


def _threaded_frame() -> tuple:
    frame = pd.DataFrame(
        {
            "fn": ["OLIVER", "OLIVIA", "JACK", None, "SMITH"] * 5_000,
            "sn": ["SMITH", "SMYTH", "OLIVER", "KHAN", "JACK"] * 5_000,
            "dob": ["2010-01-02", "2010-02-01", None, "2011-01-02", "2010-01-03"] * 5_000,
        }
    )
    data = prepare(frame, frame, {"fn": "forename", "sn": "surname", "dob": "date_of_birth"})
    rng = np.random.default_rng(11)
    return data, rng.integers(0, len(frame), 60_000), rng.integers(0, len(frame), 60_000)


_SHARED: dict = {}


def _levels_in_child(_: int) -> np.ndarray:
    data, left, right = _SHARED["work"]
    return compare(data, left, right, ["forename", "surname", "date_of_birth"]).levels


def test_compare_is_safe_from_several_threads_and_in_a_forked_child():
    """Threaded compare keeps helper threads per process: callers on several threads share
    them, and a forked child (the processes executor) starts its own."""
    import multiprocessing
    from concurrent.futures import ThreadPoolExecutor

    data, left, right = _threaded_frame()
    roles = ["forename", "surname", "date_of_birth"]
    expected = compare(data, left, right, roles, workers=1).levels
    with ThreadPoolExecutor(3) as callers:
        results = list(
            callers.map(lambda _: compare(data, left, right, roles, workers=2).levels, range(6))
        )
    for levels in results:
        np.testing.assert_array_equal(levels, expected)
    _SHARED["work"] = (data, left, right)
    try:
        with multiprocessing.get_context("fork").Pool(1) as child:
            # (A child reusing the parent's pool would wait for threads it does not have.)
            levels = child.map_async(_levels_in_child, [0]).get(timeout=120)[0]
            np.testing.assert_array_equal(levels, expected)
    finally:
        _SHARED.clear()


def test_a_hundred_thresholds_give_the_reference_levels():
    """Levels run up to 107 here: a rule that misses must still lose every min()."""
    names = ["SMITH", "JONES", "SMYTH", "SMITHSON", "JONAS", "KHAN"]
    frame = pd.DataFrame({"sn": names}, dtype=object)
    chosen = [NameComparison("surname", thresholds=tuple(np.linspace(0.99, 0.01, 100)))]
    li, ri = cross(len(names), len(names))
    compiled, reference = both(lambda: prepare(frame, frame, {"sn": "surname"}), li, ri, chosen)
    np.testing.assert_array_equal(compiled, reference)
    assert reference.max() == chosen[0].n_levels - 1  # some pair is "else"


@settings(max_examples=60, deadline=None)
@given(
    left=st.lists(
        st.tuples(
            name_text | st.none(), postcode_text | st.none(), st.sampled_from(["M", "F", None])
        ),
        min_size=1,
        max_size=10,
    ),
    right=st.lists(
        st.tuples(
            name_text | st.none(), postcode_text | st.none(), st.sampled_from(["M", "F", None])
        ),
        min_size=1,
        max_size=10,
    ),
    dates=st.lists(st.sampled_from(["2010-05-01", "2010-01-05", None]), min_size=22, max_size=22),
)
def test_exact_comparisons_give_equal_normalised_values_on_both_kernels(left, right, dates):
    anchor = ("ANCHOR", "ZZ1 1ZZ", "M")
    lf = pd.DataFrame([*left, anchor], columns=["sn", "pc", "sex"], dtype=object)
    rf = pd.DataFrame([*right, anchor], columns=["sn", "pc", "sex"], dtype=object)
    lf["dob"], rf["dob"] = dates[: len(lf)], dates[11 : 11 + len(rf)]
    lf.loc[len(lf) - 1, "dob"] = rf.loc[len(rf) - 1, "dob"] = "2000-01-01"
    roles = {"sn": "surname", "pc": "postcode", "sex": "sex", "dob": "date_of_birth"}
    chosen = [ExactComparison(role) for role in ("surname", "postcode", "sex", "date_of_birth")]
    li, ri = cross(len(lf), len(rf))
    compiled, reference = both(lambda: prepare(lf, rf, roles), li, ri, chosen)
    np.testing.assert_array_equal(compiled, reference)
    data = prepare(lf, rf, roles)
    a, b = data.left.codes["postcode"][li], data.right.codes["postcode"][ri]
    expected = np.where((a < 0) | (b < 0), 0, np.where(a == b, 1, 2))
    np.testing.assert_array_equal(compiled[:, 1], expected)


def test_an_exact_comparison_of_an_unknown_role_is_refused_naming_it():
    with pytest.raises(ConfigError, match=r"comparison\.school\.role.*'school'"):
        ExactComparison("school")
