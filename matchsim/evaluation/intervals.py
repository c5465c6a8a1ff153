"""Wilson score intervals for binomial proportions (false-match rates and the like).

The Wilson interval is used rather than the normal ("Wald") approximation because matchsim's
rates are often near 0 or 1 (a false-match rate of 0.3%, a correct-match rate of 99%) or rest
on small groups (the few twins among 1,500 requests), where the Wald interval collapses to a
point or leaves [0, 1]. The quantile comes from :class:`statistics.NormalDist`, so scipy is not
needed.
"""

from __future__ import annotations

from numbers import Integral, Real
from statistics import NormalDist

import numpy as np
import numpy.typing as npt

from matchsim.errors import ConfigError

__all__ = ["wilson_interval", "wilson_intervals"]


def _z(confidence: float) -> float:
    """Two-sided standard normal quantile for ``confidence``, after validating it."""
    # bool is a Real; a flag passed by mistake should not become confidence 1.
    if isinstance(confidence, bool) or not isinstance(confidence, Real):
        raise ConfigError("confidence", f"{confidence!r} is not a number; must be in (0, 1)")
    if not 0.0 < float(confidence) < 1.0:  # also rejects NaN
        raise ConfigError("confidence", f"{confidence!r} is not allowed; must be in (0, 1)")
    # From the lower tail: 0.5 + c / 2 rounds to 1.0 (an infinite z) for c just below 1.
    return -NormalDist().inv_cdf((1.0 - float(confidence)) / 2.0)


def _bounds(successes: np.ndarray, trials: np.ndarray, z: float) -> tuple[np.ndarray, np.ndarray]:
    """Wilson bounds for validated integer arrays; trials == 0 gives (0, 1)."""
    s = successes.astype(np.float64)
    n = trials.astype(np.float64)
    empty = n == 0
    n_safe = np.where(empty, 1.0, n)  # placeholder so 0/0 never warns; replaced below
    p = s / n_safe
    z2 = z * z
    denominator = 1.0 + z2 / n_safe
    centre = (p + z2 / (2.0 * n_safe)) / denominator
    half = z / denominator * np.sqrt(p * (1.0 - p) / n_safe + z2 / (4.0 * n_safe * n_safe))
    # Mathematically low <= p_hat <= high and the bounds touch 0 / 1 exactly at s == 0 / s == n;
    # the clamps only undo floating-point rounding so callers can rely on those facts.
    low = np.where(s == 0, 0.0, np.clip(np.minimum(centre - half, p), 0.0, 1.0))
    high = np.where(s == n, 1.0, np.clip(np.maximum(centre + half, p), 0.0, 1.0))
    return np.where(empty, 0.0, low), np.where(empty, 1.0, high)


def wilson_interval(successes: int, trials: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for one binomial proportion ``successes / trials``.

    Parameters
    ----------
    successes
        Number of successes, ``0 <= successes <= trials``.
    trials
        Number of trials, ``>= 0``. With no trials nothing is known, and the interval is
        ``(0.0, 1.0)``.
    confidence
        Two-sided confidence level, strictly between 0 and 1.

    Returns
    -------
    tuple of float
        ``(low, high)`` with ``0 <= low <= successes / trials <= high <= 1``.

    Raises
    ------
    ConfigError
        If ``confidence`` is not in (0, 1), or the counts are not whole numbers with
        ``0 <= successes <= trials``.

    Examples
    --------
    >>> low, high = wilson_interval(5, 10)
    >>> round(low, 4), round(high, 4)
    (0.2366, 0.7634)
    >>> wilson_interval(0, 0)
    (0.0, 1.0)
    """
    z = _z(confidence)
    for field, value in (("successes", successes), ("trials", trials)):
        if isinstance(value, bool) or not isinstance(value, Integral):
            raise ConfigError(field, f"{value!r} is not a whole number")
    if not 0 <= successes <= trials:
        raise ConfigError(
            "successes", f"{successes} is not allowed; must be between 0 and trials ({trials})"
        )
    low, high = _bounds(np.array([successes]), np.array([trials]), z)
    return float(low[0]), float(high[0])


def wilson_intervals(
    successes: npt.ArrayLike, trials: npt.ArrayLike, confidence: float = 0.95
) -> tuple[np.ndarray, np.ndarray]:
    """Vectorised :func:`wilson_interval`: one interval per element, broadcasting the inputs.

    Parameters
    ----------
    successes, trials
        Integer arrays (or anything :func:`numpy.asarray` accepts) of equal or broadcastable
        shape, with ``0 <= successes <= trials`` element-wise. Integral floats are accepted.
    confidence
        Two-sided confidence level, strictly between 0 and 1.

    Returns
    -------
    low, high : numpy.ndarray
        float64 arrays of the broadcast shape; ``(0.0, 1.0)`` wherever ``trials == 0``.

    Raises
    ------
    ConfigError
        If ``confidence`` is not in (0, 1), or any count is not a whole number with
        ``0 <= successes <= trials``.

    Examples
    --------
    >>> low, high = wilson_intervals(np.array([0, 5, 10, 0]), np.array([10, 10, 10, 0]))
    >>> low.round(4).tolist(), high.round(4).tolist()
    ([0.0, 0.2366, 0.7225, 0.0], [0.2775, 0.7634, 1.0, 1.0])
    """
    z = _z(confidence)
    s = np.asarray(successes)
    n = np.asarray(trials)
    for field, values in (("successes", s), ("trials", n)):
        if values.dtype.kind in "iu":
            continue
        integral = values.dtype.kind == "f" and bool(np.all(np.isfinite(values)))
        if not integral or not np.array_equal(values, np.round(values)):
            raise ConfigError(field, f"must be whole numbers; got dtype {values.dtype}")
    try:
        s, n = np.broadcast_arrays(s, n)
    except ValueError:
        raise ConfigError(
            "trials", f"shape {n.shape} does not match successes' shape {s.shape}"
        ) from None
    bad = (s < 0) | (s > n)
    if bad.any():
        first = np.flatnonzero(bad.ravel())[0]
        raise ConfigError(
            "successes",
            f"{s.ravel()[first]} successes in {n.ravel()[first]} trials is not allowed; "
            "must have 0 <= successes <= trials",
        )
    return _bounds(s, n, z)
