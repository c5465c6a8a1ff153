"""Splink 5 (DuckDB backend) as a matcher.

The model is trained as Splink's tutorials train one:

1. the prior, ``probability_two_random_records_match``, from deterministic rules and a guess of
   their recall (``estimate_probability_two_random_records_match``);
2. u from random pairs (``estimate_u_using_random_sampling``);
3. m by expectation maximisation, in training sessions blocked on different fields
   (``estimate_parameters_using_expectation_maximisation``), each estimating the comparisons
   its blocking leaves free;
4. term-frequency adjustments on the names, applied when scoring.

Scoring hands Splink the pipeline's candidate pairs through its own
``register_blocked_pairs_for_predict``, so Splink scores exactly the pairs every other matcher
scores.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from matchsim.comparison import ComparisonResult
from matchsim.errors import ConfigError
from matchsim.matchers.base import MATCHERS, Matcher, probability
from matchsim.peers.tables import peer_roles, require, role_lists, role_table
from matchsim.records import PEER_ROLES, LinkageData

FIELD = "matcher.splink"
ROW = "row"  # Splink's unique id: the record's row number (matchsim ids may repeat)
#: Splink's names for the two inputs; link_only pairs put the alphabetically first on the left.
LEFT, RIGHT = "left_records", "right_records"
#: Splink joins source dataset and unique id into one key with this separator.
_KEY_SEPARATOR = "-__-"

#: Deterministic rules for the prior, as Splink's tutorials write them: exact agreement on
#: enough fields that few non-matches pass (rules needing an unmapped role are dropped).
DEFAULT_DETERMINISTIC_RULES = (
    ("forename", "surname", "date_of_birth"),
    ("surname", "date_of_birth", "postcode"),
)
#: EM sessions: the same blocks matchsim's Fellegi-Sunter trains on by default.
DEFAULT_TRAINING_BLOCKS = (("date_of_birth",), ("forename", "surname"))


@contextlib.contextmanager
def _quiet_splink() -> Iterator[None]:
    """Splink logs every training step at INFO and advice at WARNING; a matcher keeps quiet."""
    logger = logging.getLogger("splink")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def _spaced_postcodes(values: pa.Array) -> pa.Array:
    """ "LS124AB" -> "LS12 4AB": Splink's PostcodeComparison finds sector, district and area
    with regular expressions that expect the space before the inward code."""
    return pc.replace_substring_regex(values, r"^(.+)([0-9][A-Z]{2})$", r"\1 \2")


@MATCHERS.register("splink")
class SplinkMatcher(Matcher):
    """Splink's Fellegi-Sunter model on DuckDB: prior from deterministic rules, u from random
    sampling, m from EM sessions, term-frequency adjusted names.

    Comparisons (Splink's comparison library, as its person-linkage examples use it):
    ``NameComparison`` on forename and surname (exact, Jaro-Winkler 0.92 and 0.88), with
    term-frequency adjustment; ``DateOfBirthComparison`` (exact, one character, within a month,
    a year, ten years); ``PostcodeComparison`` (full, sector, district, area);
    ``ExactMatch`` on sex; ``JaroWinklerAtThresholds`` (0.9, 0.7) on the address line only
    where no postcode is mapped (see ``address_with_postcode``).

    Parameters
    ----------
    threshold
        Match probability at or above which a pair is a match.
    deterministic_rules, recall
        Rules (lists of roles that must agree exactly) and the share of true matches they are
        guessed to find, for the prior.
    training_blocks
        One EM session per list of roles (blocked on exact agreement of those roles).
    tf_adjust
        Name roles whose exact agreement is weighted by how common the name is.
    u_max_pairs
        Random pairs sampled for u (Splink suggests 1e7 or more for final models).
    seed
        Seed of u's random sampling.
    em
        Estimate m by EM in the training sessions; off, m keeps the comparison library's
        default m-probabilities (Splink untrained).
    address_with_postcode
        Also compare the address line where there is a postcode. Off by default, as Splink's
        guidance and its FEBRL4 example have it: a field another one largely predicts is left
        out, because the model multiplies their evidence as if independent. With both, a
        sibling who shares the child's surname, postcode and address line outscores a
        mistyped record of the child.
    """

    needs_levels = False
    partitionable = False

    def __init__(
        self,
        # Splink's link_only example predicts at match probability 0.9
        # (https://github.com/moj-analytical-services/splink,
        # docs/demos/examples/duckdb/link_only.ipynb).
        threshold: float = 0.9,
        deterministic_rules: Sequence[Sequence[str]] = DEFAULT_DETERMINISTIC_RULES,
        # Splink's FEBRL4 example guesses its deterministic rules "capture 80% of all
        # matches" (recall=0.8; docs/demos/examples/duckdb/febrl4.ipynb, same repository).
        recall: float = 0.8,
        training_blocks: Sequence[Sequence[str]] = DEFAULT_TRAINING_BLOCKS,
        tf_adjust: Sequence[str] = ("forename", "surname"),
        u_max_pairs: int = 10_000_000,
        seed: int = 0,
        address_with_postcode: bool = False,
        em: bool = True,
    ) -> None:
        if not isinstance(em, bool):
            raise ConfigError(f"{FIELD}.em", f"must be true or false. Got {em!r} instead.")
        # Without EM, m keeps the comparison library's default m-probabilities (Splink's
        # untrained model: prior from the rules, u from random pairs).
        self.em = em
        self.threshold = probability("splink", "threshold", threshold)
        self.deterministic_rules = role_lists(
            deterministic_rules, f"{FIELD}.deterministic_rules", PEER_ROLES
        )
        self.training_blocks = role_lists(training_blocks, f"{FIELD}.training_blocks", PEER_ROLES)
        if isinstance(recall, bool) or not isinstance(recall, int | float) or not 0 < recall <= 1:
            raise ConfigError(
                f"{FIELD}.recall", f"must be a number in (0, 1]. Got {recall!r} instead."
            )
        self.recall = float(recall)
        if isinstance(tf_adjust, str):
            tf_adjust = (tf_adjust,)
        if not isinstance(tf_adjust, list | tuple) or any(
            t not in ("forename", "surname") for t in tf_adjust
        ):
            raise ConfigError(
                f"{FIELD}.tf_adjust",
                f"must be a list of forename, surname. Got {tf_adjust!r} instead.",
            )
        self.tf_adjust = tuple(tf_adjust)
        if isinstance(u_max_pairs, bool) or not isinstance(u_max_pairs, int) or u_max_pairs < 1000:
            raise ConfigError(
                f"{FIELD}.u_max_pairs",
                f"must be a whole number >= 1000. Got {u_max_pairs!r} instead.",
            )
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise ConfigError(f"{FIELD}.seed", f"must be a whole number. Got {seed!r} instead.")
        self.u_max_pairs, self.seed = u_max_pairs, seed
        if not isinstance(address_with_postcode, bool):
            raise ConfigError(
                f"{FIELD}.address_with_postcode",
                f"must be true or false. Got {address_with_postcode!r} instead.",
            )
        self.address_with_postcode = address_with_postcode
        self._splink = require("splink", FIELD)
        require("duckdb", FIELD)

    def describe(self) -> str:
        tf = f", tf={'+'.join(self.tf_adjust)}" if self.tf_adjust else ""
        return f"splink(duckdb, {'em' if self.em else 'untrained'}{tf})"

    # -- the model as a Splink user writes it -------------------------------------------------

    def comparisons(self, roles: Sequence[str]) -> list[Any]:
        """Splink comparisons for the roles, from its comparison library."""
        import splink.comparison_library as cl

        out = []
        for role in roles:
            if role in ("forename", "surname"):
                comparison = cl.NameComparison(role)
                if role in self.tf_adjust:
                    comparison = comparison.configure(term_frequency_adjustments=True)
            elif role == "date_of_birth":
                comparison = cl.DateOfBirthComparison(role, input_is_string=False)
            elif role == "postcode":
                comparison = cl.PostcodeComparison(role)
            elif role == "address":
                comparison = cl.JaroWinklerAtThresholds(role)
            else:
                comparison = cl.ExactMatch(role)
            out.append(comparison)
        return out

    def _linker(self, data: LinkageData, settings: Any, *, threads: int | None = None) -> Any:
        """A Splink linker over both sides' records on a fresh in-memory DuckDB database
        (with ``threads`` DuckDB threads; default: DuckDB's, one per core)."""
        import duckdb

        splink = self._splink
        connection = duckdb.connect()
        if threads is not None:
            connection.execute(f"SET threads TO {int(threads)}")
        db_api = splink.DuckDBAPI(connection)
        tables = [
            role_table(
                records,
                data,
                self.roles_,
                transform={"postcode": _spaced_postcodes},
                row_column=ROW,
            )
            for records in (data.left, data.right)
        ]
        inputs = [
            db_api.register(table, dataset_display_name=name)
            for table, name in zip(tables, (LEFT, RIGHT), strict=True)
        ]
        return splink.Linker(inputs, settings, log_level=None)

    def fit(
        self,
        result: ComparisonResult,
        data: LinkageData,
        true_pairs: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> SplinkMatcher:
        from splink import SettingsCreator, block_on

        self.roles_ = peer_roles(data, address_with_postcode=self.address_with_postcode)
        if not self.roles_:
            raise ConfigError(FIELD, "the linkage has no role Splink can compare")
        available = set(self.roles_)
        rules = [r for r in self.deterministic_rules if set(r) <= available]
        sessions = [b for b in self.training_blocks if set(b) <= available and set(b) < available]
        if not rules:
            raise ConfigError(
                f"{FIELD}.deterministic_rules",
                f"every rule needs a role this linkage lacks (roles: {', '.join(self.roles_)})",
            )
        if not sessions:
            raise ConfigError(
                f"{FIELD}.training_blocks",
                f"no session can run on this linkage's roles ({', '.join(self.roles_)}); give "
                "blocks of mapped roles that leave others free",
            )
        settings = SettingsCreator(
            link_type="link_only",
            unique_id_column_name=ROW,
            comparisons=self.comparisons(self.roles_),
            blocking_rules_to_generate_predictions=[block_on(*b) for b in sessions],
            retain_matching_columns=False,
            retain_intermediate_calculation_columns=False,
        )
        with _quiet_splink():
            # One DuckDB thread while training: EM sums match probabilities in parallel, in an
            # order that varies from run to run, so the last bits of m (and of the scores)
            # would too. With one thread the same seed gives identical scores.
            linker = self._linker(data, settings, threads=1)
            training = linker.training
            try:
                training.estimate_probability_two_random_records_match(
                    [block_on(*r) for r in rules], recall=self.recall
                )
            except ValueError as exc:  # more rule matches than the recall allows
                raise ConfigError(f"{FIELD}.recall", " ".join(str(exc).split())) from None
            training.estimate_u_using_random_sampling(max_pairs=self.u_max_pairs, seed=self.seed)
            self.sessions_ = []
            for block in sessions if self.em else ():
                training.estimate_parameters_using_expectation_maximisation(
                    block_on(*block), estimate_without_term_frequencies=True
                )
                self.sessions_.append(list(block))
        self.model_ = linker.misc.save_model_to_json()
        self.lambda_ = float(self.model_["probability_two_random_records_match"])
        # The fitting linkage and its linker, for the first score; None once scored.
        self._fitted: tuple[LinkageData, Any] | None = (data, linker)
        return self

    def is_fitted(self) -> bool:
        return hasattr(self, "model_")

    def score(self, result: ComparisonResult, data: LinkageData) -> np.ndarray:
        """Splink's match probability of each candidate pair."""
        self.check_fitted()
        if peer_roles(data, address_with_postcode=self.address_with_postcode) != self.roles_:
            raise ConfigError(FIELD, "score linkages with the roles the model was fitted on")
        if len(result.left) == 0:
            return np.zeros(0)
        with _quiet_splink():
            fitted = self._fitted
            # A new batch gets the trained model on its own records.
            linker = (
                fitted[1]
                if fitted is not None and fitted[0] is data
                else self._linker(data, self.model_)
            )
            # The linker holds a DuckDB copy of both sides: let it go once the pairs are scored.
            self._fitted = None
            return score_pairs(linker, result.left, result.right)

    def parameters(self) -> list[dict[str, Any]]:
        """m and u of every comparison level, from the trained Splink model."""
        self.check_fitted()
        rows = []
        for comparison in self.model_["comparisons"]:
            for level in comparison["comparison_levels"]:
                if level.get("is_null_level"):
                    continue
                m, u = level.get("m_probability"), level.get("u_probability")
                rows.append(
                    {
                        "comparison": comparison["output_column_name"],
                        "level": level.get("label_for_charts", level["sql_condition"]),
                        "m": m,
                        "u": u,
                        "bayes_factor": (m / u) if m is not None and u else None,
                    }
                )
        return rows


def score_pairs(linker: Any, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Splink's match probability of the pairs (left row, right row), in their order.

    The linker's inputs are named :data:`LEFT` and :data:`RIGHT` with unique id :data:`ROW`;
    the pairs reach Splink through ``register_blocked_pairs_for_predict``, its way of scoring
    candidate pairs found elsewhere, and every pair must come back scored.
    """
    n = len(left)
    left_ids = pc.cast(pa.array(left, pa.int64()), pa.string())
    right_ids = pc.cast(pa.array(right, pa.int64()), pa.string())
    pairs = pa.table(
        {
            "match_key": pa.repeat(pa.scalar("0"), n),
            "join_key_l": pc.binary_join_element_wise(LEFT, left_ids, _KEY_SEPARATOR),
            "join_key_r": pc.binary_join_element_wise(RIGHT, right_ids, _KEY_SEPARATOR),
        }
    )
    db_api = linker._db_api  # the linker's own connection: Splink has no public getter
    registered = db_api.register(pairs)
    linker.table_management.register_blocked_pairs_for_predict(registered)
    predictions = linker.inference.predict(warning_mode="never")
    scored = (
        predictions.as_duckdbpyrelation().select(f"{ROW}_l, {ROW}_r, match_probability").arrow()
    )
    if hasattr(scored, "read_all"):  # newer DuckDB returns a record batch reader
        scored = scored.read_all()
    predictions.drop_table_from_database_and_remove_from_cache()
    registered.drop_table_from_database_and_remove_from_cache(force_non_splink_table=True)
    # Splink returns the pairs in its own order: put them back in ours.
    span = int(max(right.max(initial=0), 0)) + 1
    wanted = left.astype(np.int64) * span + right.astype(np.int64)
    got = scored[f"{ROW}_l"].to_numpy().astype(np.int64) * span + scored[
        f"{ROW}_r"
    ].to_numpy().astype(np.int64)
    order = np.argsort(got, kind="stable")
    position = np.searchsorted(got[order], wanted)
    found = position < len(got)
    found[found] = got[order][position[found]] == wanted[found]
    if not found.all():
        raise ConfigError(FIELD, f"Splink returned no score for {int((~found).sum())} of {n} pairs")
    probability = scored["match_probability"].to_numpy()
    return np.asarray(probability[order][position], dtype=np.float64)
