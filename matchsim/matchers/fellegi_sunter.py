"""The Fellegi-Sunter matcher, trained as Splink trains it, with term-frequency adjustment.

Why one module of about 590 lines: it is one estimator, and its parts read and write the same
learned state. ``fit`` sets ``u_`` (random pairs, corrected for matches, per place stratum),
``m_`` and ``lambda_`` (EM over training sessions, which reads ``u_`` and the strata) and
``tf_``; scoring reads all of them, and ``parameters`` reports them. Splitting training from
scoring would put one class's private state in two files (a mixin) or turn the attributes into
arguments passed between modules. What stands alone already lives apart: place strata in
:mod:`matchsim.matchers.places`, validators in :mod:`matchsim.matchers.base`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from matchsim.comparison import ComparisonResult, compare
from matchsim.errors import ConfigError
from matchsim.matchers.base import Matcher, matcher, param_error, probability, true_pair_mask
from matchsim.matchers.places import PlaceStrata, place_strata
from matchsim.records import KeptValues, LinkageData, Records


@dataclass(frozen=True)
class _Patterns:
    """Distinct level vectors and how many pairs have each (EM works on these)."""

    levels: np.ndarray  # (patterns, comparisons)
    counts: np.ndarray
    inverse: np.ndarray


def _patterns(levels: np.ndarray) -> _Patterns:
    uniq, inverse, counts = np.unique(levels, axis=0, return_inverse=True, return_counts=True)
    return _Patterns(uniq, counts.astype(np.float64), inverse.ravel())


#: Fewest pairs of different right-hand records in a session to measure its own u from.
SESSION_U_MIN_PAIRS = 200
#: How many pairs' worth of weight the random pairs' u has beside a session's own pairs.
SESSION_U_PRIOR_PAIRS = 20.0

#: The key a training session too big for its budget is refined by (see ``_train_m``).
SESSION_PLACE_KEY = "postcode:district"


def _can_refine(keys: Sequence[str], available: set[str]) -> bool:
    """Whether a session on ``keys`` can also block on the place: the linkage has postcodes
    and the session does not block on them already (its location m then comes from the
    other sessions)."""
    return "postcode" in available and not any(k.split(":")[0] == "postcode" for k in keys)


def most_matches_per_left(data: LinkageData) -> float:
    """The most true matches one left record can have: one per entity on the right, and an
    entity has as many right-hand rows as its id repeats (a register with its address
    history). Deduplicating one table, a record's duplicates are not bounded (infinite)."""
    if data.self_join:
        return np.inf
    right = data.right
    if right.ids_ascending() or right.id_index().is_unique:
        return 1.0
    return float(right.id_index().value_counts().max())


@matcher("fellegi_sunter")
class FellegiSunter(Matcher):
    """The Fellegi-Sunter model, trained as Splink trains it, with term-frequency adjustment.

    * **u** (chance agreement) comes from random pairs of records.
    * **m** (agreement among true matches) comes from expectation-maximisation in *training
      sessions*: each session blocks a sample of left records on some exact keys (default:
      date of birth; then forename and surname) and estimates m only for the comparisons the
      session did not block on, so the blocking cannot bias them. A session whose pairs for
      the sample exceed ``training_pairs`` also blocks on the postcode district, where the
      linkage has postcodes (at national density date of birth alone left a session about
      20 true matches to learn from).
    * **lambda** is the probability that two random records match, from the same sessions.

    Parameters
    ----------
    m_method
        ``"em"`` (unsupervised, as above) or ``"oracle"`` (m and u counted on the candidate
        pairs using the true links: the best any weights can do on those candidates).
    tf_adjust
        Comparisons whose exact agreement is weighted by how common the value is: agreeing on
        a rare surname is stronger evidence than agreeing on Khan or Smith.
    threshold
        Match probability at or above which a pair is a match, in [0, 1].
    training_blocks
        Exact-key sets of the training sessions (roles, or ``dob``).
    training_sample, training_pairs
        Each training session uses at most this many left records, and as many of them as keep
        the session under ``training_pairs`` candidate pairs.
    max_iter, tol
        EM stops after ``max_iter`` iterations, or when no parameter moves by more than ``tol``.
    random_pairs
        How many random pairs estimate u.
    seed
        Seed of the random pairs and the training samples.
    by_place
        Measure chance agreement separately among records that share a home, postcode, sector
        or district (see :mod:`matchsim.matchers.places`): siblings share a surname and a
        home, so agreeing on both is weaker evidence than the product of the two. Off, every
        field counts as independent of the others (the textbook model).
    one_per_left
        A left record matches at most one right record (see :meth:`score`); off, each pair
        is scored on its own.
    """

    # One home is one piece of evidence, not two: without this a sibling sharing surname,
    # postcode and address looks like the child asked about.
    address_with_postcode = False

    #: the training sessions of the last fit: keys, pairs, lambda and what each estimated
    sessions_: list[dict[str, object]]

    def __init__(
        self,
        m_method: str = "em",
        tf_adjust: Sequence[str] = ("forename", "surname"),
        threshold: float = 0.9,
        training_blocks: Sequence[Sequence[str]] = (("dob",), ("forename", "surname")),
        training_sample: int = 2000,
        training_pairs: int = 150_000,
        max_iter: int = 100,
        tol: float = 1e-6,
        random_pairs: int = 100_000,
        seed: int = 0,
        by_place: bool = True,
        one_per_left: bool = True,
    ) -> None:
        for label, flag in (("by_place", by_place), ("one_per_left", one_per_left)):
            if not isinstance(flag, bool):
                raise param_error("FellegiSunter", label, "true or false", flag)
        self.by_place, self.one_per_left = by_place, one_per_left
        if m_method not in ("em", "oracle"):
            raise param_error("FellegiSunter", "m_method", "'em' or 'oracle'", m_method)
        self.m_method = m_method
        if isinstance(tf_adjust, str):
            tf_adjust = (tf_adjust,)  # one name, not its letters
        if not isinstance(tf_adjust, list | tuple) or not all(
            isinstance(t, str) for t in tf_adjust
        ):
            raise param_error("FellegiSunter", "tf_adjust", "a list of comparison names", tf_adjust)
        self.tf_adjust = tuple(tf_adjust)
        self.threshold = probability("FellegiSunter", "threshold", threshold)
        valid_keys = {"dob", "forename", "surname", "middle_names", "postcode", "address", "sex"}
        if (
            not isinstance(training_blocks, list | tuple)
            or not training_blocks
            or any(not isinstance(b, list | tuple) or not b for b in training_blocks)
        ):
            raise param_error(
                "FellegiSunter",
                "training_blocks",
                "a non-empty list of non-empty key lists",
                training_blocks,
            )
        for block in training_blocks:
            for key in block:
                if not isinstance(key, str) or key.split(":")[0] not in valid_keys:
                    allowed = f"keys from {', '.join(sorted(valid_keys))}"
                    raise param_error("FellegiSunter", "training_blocks", allowed, key)
        self.training_blocks = tuple(tuple(b) for b in training_blocks)
        for label, value, low in (
            ("max_iter", max_iter, 1),
            ("random_pairs", random_pairs, 100),
            ("training_sample", training_sample, 10),
        ):
            if not isinstance(value, int) or isinstance(value, bool) or value < low:
                raise param_error("FellegiSunter", label, f"a whole number >= {low}", value)
        if not isinstance(training_pairs, int) or training_pairs < 1000:
            raise param_error(
                "FellegiSunter", "training_pairs", "a whole number >= 1000", training_pairs
            )
        self.training_sample, self.training_pairs, self.max_iter = (
            training_sample,
            training_pairs,
            max_iter,
        )
        if not isinstance(tol, int | float) or isinstance(tol, bool) or not 0 < tol < 1:
            raise param_error("FellegiSunter", "tol", "a number in (0, 1)", tol)
        if not isinstance(seed, int) or isinstance(seed, bool):
            raise param_error("FellegiSunter", "seed", "a whole number", seed)
        self.tol, self.random_pairs, self.seed = float(tol), random_pairs, seed

    def describe(self) -> str:
        tf = f", tf={'+'.join(self.tf_adjust)}" if self.tf_adjust else ""
        return f"fellegi_sunter(m={self.m_method}{tf})"

    # -- fitting --------------------------------------------------------------------------------

    @staticmethod
    def _frequencies(levels: np.ndarray, n: int, weights: np.ndarray | None = None) -> np.ndarray:
        counts = np.bincount(levels.astype(np.int64), weights=weights, minlength=n)[:n].astype(
            np.float64
        )
        # Additive smoothing: no level gets probability 0 (and so no infinite weight).
        counts[1:] += 0.5
        counts[0] = 0.0  # "missing" is neutral: it carries no evidence either way
        return counts / counts[1:].sum()

    def _random_u(self, comparisons: tuple, data: LinkageData) -> list[np.ndarray]:
        rng = np.random.default_rng(self.seed)
        k = self.random_pairs
        left = rng.integers(0, len(data.left), k)
        right = rng.integers(0, len(data.right), k)
        if data.self_join:  # a record against itself is no random pair
            left, right = left[left != right], right[left != right]
        sample = compare(data, left, right, comparisons)
        return [
            self._frequencies(sample.levels[:, i], c.n_levels) for i, c in enumerate(comparisons)
        ]

    def _without_matches(self, u: list[np.ndarray]) -> list[np.ndarray]:
        """u with the true matches among the random pairs taken out.

        A share lambda of random pairs are matches, and they agree as matches do (m), so the
        observed frequency is lambda * m + (1 - lambda) * u. In a national register lambda is
        tiny and this changes nothing; between two small files that hold the same people (5,000
        and 5,000: lambda = 1/5,000) the matches are most of the random pairs that agree on a
        specific level (address and postcode), and uncorrected their u would be many times too high.
        A level's u keeps at least the smoothing count (half a pair) of the sample.
        """
        floor = 0.5 / self.random_pairs
        out = []
        for observed, m in zip(u, self.m_, strict=True):
            corrected = np.maximum((observed - self.lambda_ * m) / (1.0 - self.lambda_), floor)
            corrected[0] = 0.0  # missing carries no evidence
            out.append(corrected / corrected[1:].sum())
        return out

    def fit(
        self,
        result: ComparisonResult,
        data: LinkageData,
        true_pairs: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> FellegiSunter:
        self.comparisons_ = tuple(c.name for c in result.comparisons)
        self.level_names_ = tuple(c.level_names for c in result.comparisons)
        n_levels = [c.n_levels for c in result.comparisons]
        self.places_: PlaceStrata | None = (
            place_strata(result.comparisons, data, seed=self.seed + 2) if self.by_place else None
        )
        if self.m_method == "oracle":
            if true_pairs is None:
                raise ConfigError("FellegiSunter.m_method", "'oracle' needs the true links")
            is_true = true_pair_mask(result, data, true_pairs)
            if not is_true.any():
                raise ConfigError("FellegiSunter.m_method", "no candidate pair is a true link")
            # The best m for these candidates, in the same model as EM: u from random pairs and
            # lambda from the true number of links.
            self.m_ = [
                self._frequencies(result.levels[is_true, i], n) for i, n in enumerate(n_levels)
            ]
            self.u_ = self._place_u(self._random_u(result.comparisons, data))
            n_true = len(
                np.unique(true_pairs[0].astype(np.int64) * len(data.right) + true_pairs[1])
            )
            possible = len(data.left) * len(data.right)
            if data.self_join:  # unordered pairs of different records
                possible = len(data.left) * (len(data.left) - 1) // 2
            self.lambda_ = float(np.clip(n_true / max(possible, 1), 1e-15, 0.5))
            self.sessions_ = []
        else:
            self.u_ = self._place_u(self._random_u(result.comparisons, data))
            self._train_m(result.comparisons, data)
            self.u_ = self._place_u(self._without_matches(self.u_))
            self._fit_tf(result, data)
            self.sessions_lambda_ = self.lambda_
            self.lambda_ = self._lambda_on_candidates(result, data)
            return self
        self._fit_tf(result, data)
        return self

    def _lambda_on_candidates(self, result: ComparisonResult, data: LinkageData) -> float:
        """lambda as the expected number of matches among the candidate pairs, over all pairs.

        The training sessions see a sample of left records blocked on one key, and correct
        for what that key misses with m; in a lookup where most requests are not in the
        register (three in four of the immigration batches) that estimate is too high (about
        1.5 times), which makes every probability overconfident. With m and u fixed, lambda is
        re-estimated on the pairs actually being scored: the EM step for lambda alone,
        ``lambda = sum P(match | pair) / possible pairs``, iterated to its fixed point (pairs
        outside the candidates have a negligible posterior). Starts from the sessions' value.
        """
        if len(result.left) == 0:
            return self.lambda_
        prior = math.log2(self.lambda_ / (1 - self.lambda_))
        evidence = self.match_weights(result, data) - prior
        possible = float(len(data.left)) * len(data.right)
        if data.self_join:
            possible = len(data.left) * (len(data.left) - 1) / 2.0
        lam = self.lambda_
        for _ in range(200):
            odds = np.exp2(np.clip(evidence + math.log2(lam / (1 - lam)), -1000, 1000))
            new = float(np.clip((odds / (1 + odds)).sum() / max(possible, 1.0), 1e-15, 0.5))
            if abs(new - lam) <= 1e-6 * lam:
                lam = new
                break
            lam = new
        return lam

    def _place_u(self, u: list[np.ndarray]) -> list[np.ndarray]:
        """u with the place comparison's rare levels (a shared home: about 1e-7 of random pairs
        nationally) measured from pairs that share a place, where the random pairs saw fewer
        than 50 (see :mod:`matchsim.matchers.places`).

        The shared-place pairs give a lower bound: a level that pairs in different places
        also reach (a similar address line in another town: same street name, another
        number) is mostly outside them. Where the random pairs saw the level clearly more
        often than that bound predicts (Poisson, three standard deviations), the bound
        misses most of the level and the random pairs' estimate stands. Nationally, similar
        addresses were 6.6e-5 of 3 million random pairs; the bound said 9.6e-7, which gave
        two namesakes on streets of one name in different towns 6 bits of false evidence."""
        if self.places_ is None:
            return u
        out = [x.copy() for x in u]
        row = out[self.places_.place]
        for level, value in self.places_.place_u.items():
            seen = max(row[level] * self.random_pairs - 0.5, 0.0)  # undo the smoothing
            expected = value * self.random_pairs
            if seen >= 50 or value <= 0 or seen > expected + 3 * math.sqrt(expected) + 1:
                continue
            row[level] = value
        row[0] = 0.0
        out[self.places_.place] = row / row[1:].sum()
        return out

    def _train_m(self, comparisons: tuple, data: LinkageData) -> None:
        from matchsim.blocking import ExactKeys

        rng = np.random.default_rng(self.seed + 1)
        n_sample = min(self.training_sample, len(data.left))
        rows = np.sort(rng.choice(len(data.left), n_sample, replace=False))
        estimates: list[list[np.ndarray]] = [[] for _ in comparisons]
        match_rates = []
        self.sessions_ = []
        role_of_key = {"dob": "date_of_birth"}
        available = set(data.roles)
        matches_per_left = most_matches_per_left(data)
        sessions = list(self.training_blocks)
        # Fallback sessions on one role each, for linkages without the default sessions' roles.
        sessions += [
            (k,) for k in ("dob", "surname", "forename", "postcode") if (k,) not in sessions
        ]
        for index, keys in enumerate(sessions):
            if index >= len(self.training_blocks) and all(estimates):
                break  # every comparison has an estimate: no fallback needed
            needed = {role_of_key.get(k.split(":")[0], k.split(":")[0]) for k in keys}
            if not needed <= available:
                continue  # this linkage lacks the session's roles
            blocker = ExactKeys(list(keys))
            counts = blocker.counts(data, rows)
            if counts.sum() > self.training_pairs and _can_refine(keys, available):
                # The budget cannot take the whole sample: at national density date of birth
                # alone pairs a child with ~1,800 others, so 150,000 pairs hold about 20 true
                # matches, and m of every name level was mostly the smoothing's pseudo-counts
                # (forename "initial" 0.060 against 0.0014 among the true pairs). Within one
                # postcode district a child has about one namesake by date, so the session
                # holds the whole sample and hundreds of matches. Names' errors do not depend
                # on where a family lives, so m of the names is not biased by it.
                keys = (*keys, SESSION_PLACE_KEY)
                blocker = ExactKeys(list(keys))
                counts = blocker.counts(data, rows)
            # Keep the session affordable: fewer left records where each has many candidates.
            within = np.cumsum(counts) <= self.training_pairs
            session_rows = rows[within] if within.any() else rows[:1]
            left, right = blocker.pairs(data, session_rows)
            if data.self_join:
                # Deduplication: a record agrees with itself on everything; EM would take it
                # for a match. Both orders of other pairs stay, as they would between two
                # copies of the table (matches per sampled record are what lambda needs).
                left, right = left[left != right], right[left != right]
            if len(left) == 0:
                continue
            session = compare(data, left, right, comparisons)
            blocked_roles = {role_of_key.get(k.split(":")[0], k.split(":")[0]) for k in keys}
            free = [i for i, c in enumerate(comparisons) if c.role not in blocked_roles]
            if not free:
                continue
            n_rows = len(session_rows)
            among = (
                self._session_u(data, left, right, comparisons, free, rng)
                if matches_per_left == 1.0
                else None  # right-hand rows may be one entity: not sure non-matches
            )
            m, lam = self._em(
                session.levels[:, free],
                [comparisons[i].n_levels for i in free],
                among if among is not None else [self.u_[i] for i in free],
                start_prior=min(0.5, n_rows / len(left)),
                max_prior=min(1.0, matches_per_left * n_rows / len(left)),
                strata=self._strata_of(session.levels),
                columns=free,
            )
            for j, i in enumerate(free):
                estimates[i].append(m[j])
            # Matches found in this session, per sampled left record.
            match_rates.append((lam * len(left) / n_rows, blocked_roles))
            self.sessions_.append(
                {
                    "keys": list(keys),
                    "pairs": len(left),
                    "lambda": lam,
                    "estimated": [comparisons[i].name for i in free],
                }
            )
        if not self.sessions_:
            raise ConfigError(
                "matcher.fellegi_sunter.training_blocks",
                f"no training session could run: {[list(b) for b in self.training_blocks]} need roles this "
                f"linkage lacks or leave nothing to estimate (roles: {', '.join(sorted(available))}); give "
                "training_blocks on mapped roles that leave other comparisons free, or use another matcher",
            )
        self.m_ = []
        for i, c in enumerate(comparisons):
            if estimates[i]:
                self.m_.append(np.mean(estimates[i], axis=0))
            else:
                # Never free in any session: a conservative default (mostly exact agreement).
                start = np.r_[0.0, np.geomspace(0.9, 0.01, c.n_levels - 1)]
                self.m_.append(start / start.sum())
        # lambda: matches per left record, corrected for the matches each session's blocking
        # misses (those that disagree on the blocked field), over the right-hand records.
        rates = []
        for rate, blocked in match_rates:
            recall = 1.0
            for i, c in enumerate(comparisons):
                if c.role in blocked:
                    recall *= max(float(self.m_[i][1]), 1e-3)
            rates.append(rate / recall)
        per_left = float(np.clip(np.mean(rates), 1e-6, 1.0)) if rates else 0.5
        self.lambda_ = float(np.clip(per_left / len(data.right), 1e-15, 0.5))

    def _session_u(
        self,
        data: LinkageData,
        left: np.ndarray,
        right: np.ndarray,
        comparisons: tuple,
        free: list[int],
        rng: np.random.Generator,
    ) -> list[np.ndarray] | None:
        """u of the free comparisons among the non-matches of a training session: different
        right-hand records that share the session's keys (two candidates of one left record,
        paired at random), for a right-hand table of one row per entity (the caller checks:
        in an address history or a deduplication, two rows may be one entity). None where too
        few such pairs exist.

        Random pairs' u does not describe them: children who share a forename and surname
        were born in the years that name was given and live where its families live, so
        they agree on birth year and place more often than random children do. EM with the
        random pairs' u takes that excess for matches."""
        order = np.lexsort((rng.random(len(left)), left))  # by left record, shuffled within
        by_left, candidate = left[order], right[order]
        same = np.flatnonzero(by_left[1:] == by_left[:-1])
        if len(same) < SESSION_U_MIN_PAIRS:
            return None
        among = LinkageData(data.right, data.right, data.vocabularies)
        levels = compare(
            among, candidate[same], candidate[same + 1], [comparisons[i] for i in free]
        ).levels
        out = []
        for j, i in enumerate(free):
            n = comparisons[i].n_levels
            counts = np.bincount(levels[:, j].astype(np.int64), minlength=n)[:n].astype(float)
            # The random pairs' u as a prior worth SESSION_U_PRIOR_PAIRS pairs: no level the
            # sample happened to miss gets a chance agreement of zero.
            u = counts + SESSION_U_PRIOR_PAIRS * self.u_[i]
            u[0] = 0.0
            out.append(u / u[1:].sum())
        return out

    def _strata_of(self, levels: np.ndarray) -> np.ndarray:
        """Each pair's place stratum (-1: none), from its level of the place comparison: its
        other fields' chance agreement is the one measured among records sharing that place
        (see :mod:`matchsim.matchers.places`)."""
        stratum = np.full(len(levels), -1, dtype=np.int64)
        places = getattr(self, "places_", None)
        if places is not None:
            at = levels[:, places.place].astype(np.int64)
            for level in places.conditional:
                stratum[at == level] = level
        return stratum

    def _u_rows(self, i: int, u: np.ndarray) -> list[tuple[int | None, np.ndarray]]:
        """(stratum, u) of comparison ``i``: its u outside any place stratum, and within each
        (stratum ``None``: every pair)."""
        places = getattr(self, "places_", None)
        if places is None or i == places.place:
            return [(None, u)]  # the place's own u holds in every stratum
        return [(-1, u)] + [(k, per[i]) for k, per in places.conditional.items()]

    def _em(
        self,
        levels: np.ndarray,
        n_levels: list[int],
        u: list[np.ndarray],
        *,
        start_prior: float,
        max_prior: float = 1.0,
        strata: np.ndarray | None = None,
        columns: Sequence[int] | None = None,
    ) -> tuple[list[np.ndarray], float]:
        """m and the match share among these pairs, with u fixed (EM on distinct level vectors).

        ``max_prior`` bounds the match share: a left record has at most so many true matches
        among its pairs (:func:`most_matches_per_left`). Without the bound EM can explain the
        pairs of a session blocked on names (at national density, mostly namesakes, whose
        other fields agree more often than random pairs' do) as nearly all matches, and learn
        that true matches rarely share a date of birth.

        ``strata`` (each pair's place stratum) and ``columns`` (the comparison each column of
        ``levels`` is) make u conditional on the place, as when scoring: without it, EM takes
        a twin at the requested address for the child and learns that forenames often differ.
        """
        k = len(n_levels)
        if strata is not None:
            levels = np.column_stack([levels, strata])
        pats = _patterns(levels)
        stratum = pats.levels[:, k] if strata is not None else np.full(len(pats.counts), -1)
        m = []
        for n in n_levels:
            start = np.r_[0.0, np.geomspace(0.9, 0.01, n - 1)]
            m.append(start / start.sum())
        ceiling = float(np.clip(max_prior, 1e-9, 1 - 1e-9))
        lam = float(np.clip(start_prior, 1e-9, min(0.5, ceiling)))
        prev = -np.inf
        log_u = np.zeros(len(pats.counts))
        for i in range(k):
            lv = pats.levels[:, i]
            rows = self._u_rows(columns[i], u[i]) if columns is not None else [(None, u[i])]
            for level, u_i in rows:
                mask = (lv > 0) if level is None else (stratum == level) & (lv > 0)
                log_u[mask] += np.log(np.maximum(u_i[lv[mask]], 1e-300))
        for _ in range(self.max_iter):
            log_m = np.zeros(len(pats.counts))
            for i in range(k):
                lv = pats.levels[:, i]
                log_m += np.where(lv > 0, np.log(np.maximum(m[i][lv], 1e-300)), 0.0)
            a = np.log(lam) + log_m
            b = np.log1p(-lam) + log_u
            log_total = np.logaddexp(a, b)
            post = np.exp(a - log_total)
            loglik = float((pats.counts * log_total).sum())
            w_match = pats.counts * post
            lam = float(np.clip(w_match.sum() / pats.counts.sum(), 1e-9, ceiling))
            m = [self._frequencies(pats.levels[:, i], n, w_match) for i, n in enumerate(n_levels)]
            if abs(loglik - prev) < self.tol * max(1.0, abs(loglik)):
                break
            prev = loglik
        return m, lam

    def _fit_tf(self, result: ComparisonResult, data: LinkageData) -> None:
        """Term frequencies of each tf-adjusted role among the right-hand records."""
        self.tf_ = {}
        for name in self.tf_adjust:
            if name not in self.comparisons_:
                continue
            role = result.comparisons[self.comparisons_.index(name)].role
            if role not in data.right.codes:
                continue
            counts, total = right_term_counts(data.right, role)
            size = len(data.vocabularies[role])
            # The register's counts cover its own values; a batch's extra values count 0.
            counts = np.pad(counts[:size], (0, max(size - len(counts), 0)))
            self.tf_[name] = (role, counts / max(total, 1))

    # -- scoring --------------------------------------------------------------------------------

    def is_fitted(self) -> bool:
        return hasattr(self, "m_")

    def prior_weight(self) -> float:
        """log2 prior odds that two records match, ``log2(lambda / (1 - lambda))``."""
        self.check_fitted()
        return math.log2(self.lambda_ / (1 - self.lambda_))

    def weight_terms(
        self, result: ComparisonResult, data: LinkageData
    ) -> tuple[np.ndarray, np.ndarray]:
        """Each pair's match weight, term by term: ``(weights, tf_adjusted)``.

        ``weights[p, i]`` is the log2 Bayes factor comparison ``i`` contributes to pair ``p``
        (0 where a value is missing: no evidence), with the term-frequency adjustment applied
        and, for a pair that shares a place, u measured among records sharing that place
        (:mod:`matchsim.matchers.places`); ``tf_adjusted[p, i]`` says whether tf was applied.
        A pair's match weight is :meth:`prior_weight` plus its row's sum.
        """
        self.check_fitted()
        if tuple(c.name for c in result.comparisons) != self.comparisons_:
            raise ConfigError("FellegiSunter", "score with the comparisons the model was fitted on")
        n = len(result.left)
        weights = np.zeros((n, len(self.comparisons_)))
        adjusted = np.zeros((n, len(self.comparisons_)), dtype=bool)
        stratum = self._strata_of(result.levels)
        for i, name in enumerate(self.comparisons_):
            lv = result.levels[:, i].astype(np.int64)
            contrib = np.zeros(n)
            u_exact = np.zeros(n)
            for k, u in self._u_rows(i, self.u_[i]):
                mask = np.ones(n, dtype=bool) if k is None else stratum == k
                with np.errstate(divide="ignore", invalid="ignore"):
                    bf = np.log2(self.m_[i]) - np.log2(u)
                bf[0] = 0.0  # missing: no evidence
                contrib[mask] = bf[lv[mask]]
                u_exact[mask] = u[1]
            if name in self.tf_:
                role, tf = self.tf_[name]
                exact = lv == 1
                codes = data.left.codes[role][result.left[exact]]
                # Term-frequency adjustment: agreeing on value v is as likely by chance as v is
                # common. u for exact agreement is scaled by tf(v) over the mean chance of
                # agreement, sum(tf^2); with u from random pairs this is Splink's u = tf(v).
                chance = max(float((tf**2).sum()), 1e-12)
                u_tf = np.maximum(u_exact[exact] * tf[np.maximum(codes, 0)] / chance, 1e-9)
                contrib[exact] = np.log2(self.m_[i][1]) - np.log2(u_tf)
                adjusted[:, i] = exact
            weights[:, i] = contrib
        return weights, adjusted

    def match_weights(self, result: ComparisonResult, data: LinkageData) -> np.ndarray:
        """log2 Bayes factor of each pair, prior included."""
        weights, _ = self.weight_terms(result, data)
        # Added term by term, in the order of the comparisons: the rounding of the sum is part
        # of the pinned outcomes (the scenario digests), so the order is fixed.
        w = np.full(len(result.left), self.prior_weight())
        for i in range(weights.shape[1]):
            w += weights[:, i]
        return w

    def score(self, result: ComparisonResult, data: LinkageData) -> np.ndarray:
        """Match probability of each pair.

        With ``one_per_left`` (and a right-hand table holding each id once), a left record is
        taken to match at most one right record: a pair's probability is its odds over one
        plus the odds of all the left record's candidates, ``o_j / (1 + sum_k o_k)``. A twin
        and the child asked about then share the evidence they both have, where a model of
        independent pairs scores each of them as the child (among national lookup pairs it
        scores 0.5-0.9, only a third are true).
        """
        weights = self.match_weights(result, data)
        if not self.one_match_per_left(data):
            return 1.0 / (1.0 + np.exp2(-weights))
        # Odds relative to the left record's best candidate, so nothing overflows.
        n_left = len(data.left)
        best = np.full(n_left, -np.inf)
        np.maximum.at(best, result.left, weights)
        scaled = np.exp2(weights - best[result.left])
        total = np.bincount(result.left, weights=scaled, minlength=n_left)
        # o_j / (1 + sum o_k) with every odds divided by 2**best
        return scaled / (np.exp2(-best[result.left]) + total[result.left])

    def one_match_per_left(self, data: LinkageData) -> bool:
        """Whether :meth:`score` shares each left record's match among its candidates: with
        ``one_per_left`` and a right-hand table holding each id once (not a deduplication)."""
        return bool(getattr(self, "one_per_left", False)) and _one_row_per_id(data)

    def parameters(self) -> list[dict[str, object]]:
        """m, u and the Bayes factor of every level, as rows (for reports)."""
        self.check_fitted()
        rows = []
        for i, name in enumerate(self.comparisons_):
            for j, level in enumerate(self.level_names_[i]):
                m, u = float(self.m_[i][j]), float(self.u_[i][j])
                rows.append(
                    {
                        "comparison": name,
                        "level": level,
                        "m": m,
                        "u": u,
                        "bayes_factor": (m / u) if u > 0 and j > 0 else None,
                    }
                )
        return rows


def _one_row_per_id(data: LinkageData) -> bool:
    """Whether the right-hand table holds each id once (a register of current addresses, not
    of every address a pupil had) and is another table than the left (not a deduplication)."""
    if data.self_join:
        return False
    return bool(data.right.id_index().is_unique)


class TermCounts(KeptValues[str, tuple[np.ndarray, np.ndarray]]):
    """Per role: how often each code occurs among the records, and (as a one-value array)
    how many records have one; see :func:`right_term_counts`."""


def right_term_counts(records: Records, role: str) -> tuple[np.ndarray, int]:
    """How often each value of ``role`` occurs among the records, and how many have one.

    Kept with the records: a prepared register counts its values once for every lookup (and a
    cached register keeps the counts on disk; see ``matchsim.linkage.warm_register``).
    """
    kept = records.state(TermCounts).values
    found = kept.get(role)
    if found is None:
        codes = records.codes[role]
        present = codes[codes >= 0]
        found = kept[role] = (np.bincount(present), np.array([len(present)]))
    counts, total = found
    return counts, int(total[0])
