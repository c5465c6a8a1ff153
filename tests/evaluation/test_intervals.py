"""Wilson score intervals: published values, invariants, and validation."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matchsim.errors import ConfigError
from matchsim.evaluation import wilson_interval, wilson_intervals

counts = st.integers(1, 10_000).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n)))
confidences = st.floats(0.5, 0.999)


@pytest.mark.parametrize(
    ("successes", "trials", "expected"),
    [
        (0, 10, (0.0, 0.2775)),
        (10, 10, (0.7225, 1.0)),
        (5, 10, (0.2366, 0.7634)),
        (1, 10, (0.0179, 0.4042)),
        (81, 263, (0.2553, 0.3662)),  # Newcombe (1998), example (c)
    ],
)
def test_known_values_at_95_percent(successes, trials, expected):
    low, high = wilson_interval(successes, trials)
    assert (round(low, 4), round(high, 4)) == expected


def test_no_trials_means_nothing_is_known():
    assert wilson_interval(0, 0) == (0.0, 1.0)
    low, high = wilson_intervals(np.array([0, 3]), np.array([0, 6]))
    assert (low[0], high[0]) == (0.0, 1.0)
    assert 0.0 < low[1] < 0.5 < high[1] < 1.0


def test_extremes_touch_the_bounds_exactly():
    assert wilson_interval(0, 1_000_000)[0] == 0.0
    assert wilson_interval(1_000_000, 1_000_000)[1] == 1.0


def test_confidence_just_below_one_stays_finite():
    low, high = wilson_interval(3, 10, confidence=1 - 1e-16)
    assert 0.0 < low < 0.3 < high < 1.0


@given(counts, confidences)
def test_interval_contains_the_estimate_and_stays_in_unit_range(count, confidence):
    successes, trials = count
    low, high = wilson_interval(successes, trials, confidence)
    assert 0.0 <= low <= successes / trials <= high <= 1.0


@given(counts, st.integers(2, 50))
def test_interval_narrows_as_trials_grow_at_fixed_proportion(count, factor):
    successes, trials = count
    low, high = wilson_interval(successes, trials)
    low_more, high_more = wilson_interval(successes * factor, trials * factor)
    assert high_more - low_more < high - low


@given(counts, st.floats(0.5, 0.98))
def test_higher_confidence_gives_a_wider_interval(count, confidence):
    low, high = wilson_interval(*count, confidence=confidence)
    wider_low, wider_high = wilson_interval(*count, confidence=confidence + 0.01)
    assert wider_low <= low and high <= wider_high


@settings(max_examples=50)
@given(st.lists(counts, min_size=1, max_size=30), confidences)
def test_vectorised_matches_scalar(pairs, confidence):
    successes = np.array([s for s, _ in pairs])
    trials = np.array([n for _, n in pairs])
    low, high = wilson_intervals(successes, trials, confidence)
    expected = [wilson_interval(s, n, confidence) for s, n in pairs]
    np.testing.assert_allclose(low, [e[0] for e in expected], rtol=0, atol=1e-15)
    np.testing.assert_allclose(high, [e[1] for e in expected], rtol=0, atol=1e-15)


def test_vectorised_broadcasts_and_accepts_integral_floats():
    low, high = wilson_intervals(np.array([[0.0, 5.0]]), 10)
    assert low.shape == high.shape == (1, 2)
    assert round(float(high[0, 1]), 4) == 0.7634


@pytest.mark.parametrize("confidence", [0, 1, 1.5, -0.1, math.nan, True, "0.95", None])
def test_bad_confidence_is_a_config_error(confidence):
    with pytest.raises(ConfigError, match=r"^confidence: "):
        wilson_interval(1, 2, confidence)
    with pytest.raises(ConfigError, match=r"^confidence: "):
        wilson_intervals(np.array([1]), np.array([2]), confidence)


@pytest.mark.parametrize(
    ("successes", "trials", "field"),
    [(3, 2, "successes"), (-1, 2, "successes"), (1.5, 2, "successes"), (1, True, "trials")],
)
def test_bad_counts_are_config_errors(successes, trials, field):
    with pytest.raises(ConfigError, match=rf"^{field}: "):
        wilson_interval(successes, trials)


@pytest.mark.parametrize(
    ("successes", "trials", "field"),
    [
        ([1, 3], [2, 2], "successes"),
        ([0, -1], [2, 2], "successes"),
        ([0.5], [2], "successes"),
        ([1], [np.nan], "trials"),
        ([1, 2], [3, 3, 3], "trials"),
        ([True], [2], "successes"),
    ],
)
def test_bad_count_arrays_are_config_errors(successes, trials, field):
    with pytest.raises(ConfigError, match=rf"^{field}: "):
        wilson_intervals(np.array(successes), np.array(trials))
