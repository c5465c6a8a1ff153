"""Running comparisons over candidate pairs: :func:`compare`, its thread pool, the defaults.

The comparisons run side by side on helper threads kept for the process's life: the compiled
kernels and rapidfuzz release the GIL, and each comparison writes its own column of levels.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd

from matchsim.comparison.base import (
    Comparison,
    ComparisonResult,
    Kernel,
    kernel_module,
    make_comparison,
)
from matchsim.comparison.dates import DateOfBirthComparison
from matchsim.comparison.names import NameComparison
from matchsim.comparison.postal import AddressComparison, LocationComparison, PostcodeComparison
from matchsim.comparison.sex import SexComparison
from matchsim.errors import ConfigError
from matchsim.records import LinkageData, prepare

#: Below this many pairs, comparisons run one after the other: threads cost more than they save.
_PAIRS_PER_THREAD = 20_000

_POOLS: dict[tuple[int, int], ThreadPoolExecutor] = {}


def _helper_pool(size: int) -> ThreadPoolExecutor:
    """Helper threads kept for the process's life (per process id: a forked child must not
    inherit its parent's pool, whose threads it does not have)."""
    key = (os.getpid(), size)
    pool = _POOLS.get(key)
    if pool is None:
        pool = _POOLS[key] = ThreadPoolExecutor(size, thread_name_prefix="matchsim-compare")
    return pool


def warm_kernels(kernel: Kernel = "auto") -> None:
    """Load the compiled kernels (compiling them on a first run) by comparing a few made-up
    records that reach every kernel, with the argument types real linkages pass (nothing to
    do when ``kernel`` chooses the numpy implementation)."""
    if kernel_module(kernel) is None:
        return
    rows = [
        ("OLIVER", "SMITH", "2010-01-02", "LS12 3AB"),
        ("SMITH", "OLIVER", "2010-02-01", "LS12 3AD"),
        ("OLIVIA", "SMYTH", "2011-01-02", "LS1 1AA"),
        ("ZOË", "KHAN", None, None),
    ]
    table = pd.DataFrame(rows, columns=["fn", "sn", "dob", "pc"], dtype=object)
    data = prepare(
        table, table, {"fn": "forename", "sn": "surname", "dob": "date_of_birth", "pc": "postcode"}
    )
    left = np.repeat(np.arange(len(rows), dtype=np.int64), len(rows))
    right = np.tile(np.arange(len(rows), dtype=np.int64), len(rows))
    from matchsim.comparison.exact import ExactComparison

    chosen: list[Comparison | str] = [
        *("forename", "surname", "date_of_birth", "postcode"),
        ExactComparison("postcode"),
    ]
    compare(data, left, right, chosen, workers=1, kernel=kernel)


def default_comparisons(
    data: LinkageData | None = None, *, address_with_postcode: bool = True
) -> tuple[Comparison, ...]:
    """A comparison for every role the linkage has (all of them when ``data`` is None).

    ``address_with_postcode=False`` judges postcode and address together (one
    :class:`LocationComparison`): a model that multiplies independent evidence
    (Fellegi-Sunter) would otherwise count one shared home twice, and a sibling would look
    like the child asked about.
    """
    roles = (
        set(data.roles)
        if data is not None
        else {
            "forename",
            "surname",
            "middle_names",
            "date_of_birth",
            "postcode",
            "address",
            "sex",
        }
    )
    out: list[Comparison] = []
    if "forename" in roles:
        out.append(NameComparison("forename"))
    if "surname" in roles:
        out.append(NameComparison("surname"))
    if "middle_names" in roles:
        # Different middle names are strong evidence of two children (a namesake born the
        # same day); the same is weak for a common one. Exact, near-exact (a typo) or the
        # initial; no phonetic or first-three level: middle names are compared to tell
        # namesakes apart, not to rescue a misspelt forename. On the national lookup, with
        # nothing else changed, this took recall from 0.942 to 0.956 and, on three of four
        # holdout request sets, precision up (docs/accuracy.md).
        out.append(
            NameComparison(
                "middle_names", name="middle_names", phonetic=None, first3=False, thresholds=(0.92,)
            )
        )
    if "date_of_birth" in roles:
        out.append(DateOfBirthComparison())
    if "postcode" in roles and "address" in roles and not address_with_postcode:
        out.append(LocationComparison())
    else:
        if "postcode" in roles:
            out.append(PostcodeComparison())
        if "address" in roles:
            out.append(AddressComparison())
    if "sex" in roles:
        out.append(SexComparison())
    return tuple(out)


def compare(
    data: LinkageData,
    left: np.ndarray,
    right: np.ndarray,
    comparisons: Sequence[Comparison | str | dict] | None = None,
    *,
    workers: int | None = None,
    kernel: Kernel = "auto",
) -> ComparisonResult:
    """Levels of every candidate pair for every comparison.

    The comparisons run side by side on ``workers`` threads (default: one per core, at most
    one per comparison): the compiled kernels and rapidfuzz release the GIL, and each
    comparison writes its own column, so the result does not depend on ``workers``.

    ``kernel`` chooses the implementation: ``auto`` (the compiled kernels when numba is
    installed), ``numba`` or ``numpy`` (the reference the kernels are tested against). All
    give the same levels.

    Examples
    --------
    >>> import numpy as np
    >>> import pandas as pd
    >>> from matchsim.comparison import compare
    >>> from matchsim.records import prepare
    >>> left = pd.DataFrame({"fn": ["Jon"], "sn": ["Smith"], "dob": ["2010-05-01"]})
    >>> right = pd.DataFrame({"fn": ["John", "Ann"], "sn": ["Smith", "Lee"],
    ...                       "dob": ["2010-05-01", "2010-05-01"]})
    >>> data = prepare(left, right, {"fn": "forename", "sn": "surname", "dob": "date_of_birth"})
    >>> result = compare(data, np.array([0, 0]), np.array([0, 1]))  # pairs (0, 0) and (0, 1)
    >>> [c.name for c in result.comparisons]  # the default comparisons for these roles
    ['forename', 'surname', 'date_of_birth']
    >>> print(result.frame(data).to_string())
       left  right  left_id  right_id            forename surname date_of_birth
    0     0      0        0         0  jaro_winkler>=0.92   exact         exact
    1     0      1        0         1                else    else         exact
    >>> np.array_equal(compare(data, result.left, result.right, kernel="numpy").levels,
    ...                result.levels)
    True

    A matcher turns the levels into scores:

    >>> from matchsim.matchers import make_matcher
    >>> matcher = make_matcher("weighted").fit(result, data)
    >>> matcher.score(result, data).round(3).tolist()
    [0.968, 0.444]
    """
    chosen = (
        tuple(make_comparison(c) for c in comparisons) if comparisons else default_comparisons(data)
    )
    for c in chosen:
        if (
            c.role in ("forename", "surname", "middle_names", "postcode", "address")
            and c.role not in data.vocabularies
        ):
            raise ConfigError("comparison", f"{c.name} needs the role {c.role!r} on both sides")
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int)):
        raise ConfigError("workers", f"must be a whole number >= 1. Got {workers!r} instead.")
    if workers is not None and workers < 1:
        raise ConfigError("workers", f"must be a whole number >= 1. Got {workers!r} instead.")
    kernel_module(kernel)  # an unknown kernel fails here, before any work
    levels = np.empty((len(left), len(chosen)), dtype=np.int8)
    threads = min(workers or os.cpu_count() or 1, len(chosen))
    if threads <= 1 or len(left) < _PAIRS_PER_THREAD:
        for i, c in enumerate(chosen):
            levels[:, i] = c.compute(data, left, right, kernel)
    else:
        # Longest first, so that the short ones fill in at the end (names and addresses call
        # rapidfuzz; dates and sex are one pass). The calling thread takes its share rather
        # than wait, and the helpers outlive the call (no thread start per call). Each
        # comparison runs whole on one thread: a part of its pairs would derive its values'
        # features and score its distinct name pairs again.
        queue = iter(sorted(range(len(chosen)), key=lambda i: -chosen[i].relative_cost))
        lock = threading.Lock()

        def work() -> list[tuple[int, np.ndarray]]:
            done: list[tuple[int, np.ndarray]] = []
            while True:
                with lock:
                    i = next(queue, None)
                if i is None:
                    return done
                done.append((i, chosen[i].compute(data, left, right, kernel)))

        pool = _helper_pool(threads - 1)
        helpers = [pool.submit(work) for _ in range(threads - 1)]
        columns = work()
        for helper in helpers:
            columns += helper.result()
        for i, column in columns:
            levels[:, i] = column
    return ComparisonResult(left=left, right=right, levels=levels, comparisons=chosen)
