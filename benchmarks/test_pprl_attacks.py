"""Cost of the attacks on Bloom-filter encodings (``matchsim.pprl.attacks``).

Target (asserted at full scale only, see ``conftest.py``): every attack runs on 200,000
records in at most 2 minutes on a 2-core machine; measured here at ``bench_scale.pupils``
records (1,000,000 at full scale), so the bound asserted is the target scaled linearly,
``120 s x records / 200,000``. Each attack is timed on first-name filters of a synthetic
census (frequent, repeated filters), on salted ones (every filter rare: the costliest case
for the bit-pattern attack's decoding, which works per distinct filter) and, for the
bit-pattern attack, on record-level CLKs.
"""

from __future__ import annotations

import sys

import numpy as np
import pyarrow as pa
import pytest

from matchsim.pprl import BloomEncoder
from matchsim.pprl.attacks import (
    frequency_guesses,
    graph_matching_attack,
    itemset_attack,
    pattern_mining_attack,
    sample_nodes,
    value_counts,
)
from matchsim.synth import CensusConfig, generate_census

KEY = b"benchmark-only-key-not-secret"
#: The target: seconds per attack on 200,000 records.
SECONDS_PER_200K = 120.0
GRAPH_NODES = 1500


@pytest.fixture(scope="module")
def forenames(bench_scale) -> dict[str, np.ndarray]:
    census = generate_census(
        CensusConfig(pupils=bench_scale.pupils), seed=bench_scale.seed, workers=2
    )
    table = census.pupils
    column = table["forename"].combine_chunks()
    if pa.types.is_dictionary(column.type):
        column = column.cast(column.type.value_type)
    encoded = column.dictionary_encode()
    codes = encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
    texts = np.asarray(encoded.dictionary.to_pylist(), dtype=object)
    years = np.array([d.year for d in table["date_of_birth"].to_pylist()], dtype=np.int64)
    return {"codes": codes, "texts": texts, "years": years}


def _filters(data: dict[str, np.ndarray], **hardening: object) -> np.ndarray:
    encoder = BloomEncoder(fields=[{"role": "forename", "q": 2, "k": 20}], key=KEY, **hardening)
    return encoder.encode_codes(
        {"forename": data["codes"]}, {"forename": data["texts"]}, data["years"]
    )


@pytest.mark.parametrize("hardening", [{}, {"salt": "birth_year"}], ids=["none", "salted"])
@pytest.mark.parametrize("attack", ["frequency", "pattern_mining", "itemsets", "graph"])
def test_attack_cost(benchmark, bench_scale, forenames, attack, hardening):
    filters = _filters(forenames, **hardening)
    codes, texts = forenames["codes"], forenames["texts"]
    attacker = value_counts(texts, codes)
    n = len(codes)

    def run() -> float:
        if attack == "frequency":
            guesses = frequency_guesses(filters[codes >= 0], texts, attacker)
            return float(np.mean(guesses == codes[codes >= 0]))
        if attack == "pattern_mining":
            return pattern_mining_attack(filters, codes, texts, attacker).records_share
        if attack == "itemsets":
            return itemset_attack(filters, codes, texts, attacker).records_share
        rows, plain, keys = sample_nodes(
            codes, texts, nodes=GRAPH_NODES, overlap=1.0, outside=[], seed=1
        )
        return graph_matching_attack(filters[rows], codes[rows], plain, keys).records_share

    share = benchmark.pedantic(run, rounds=1, warmup_rounds=0, iterations=1)
    seconds = float(benchmark.stats.stats.median)
    bound = SECONDS_PER_200K * n / 200_000
    benchmark.extra_info.update(
        {
            "records": n,
            "seconds": seconds,
            "bound_seconds": bound,
            "records_reidentified": share,
            "graph_nodes": GRAPH_NODES if attack == "graph" else None,
        }
    )
    print(f"\n{attack} ({'salted' if hardening else 'none'}): {n:,} records in {seconds:.1f} s")
    assert 0.0 <= share <= 1.0
    if bench_scale.full:
        assert seconds <= bound, f"{attack}: {seconds:.0f} s on {n:,} records > {bound:.0f} s"


def test_pattern_mining_on_record_clks(benchmark, bench_scale, forenames):
    census = generate_census(
        CensusConfig(pupils=min(bench_scale.pupils, 200_000)), seed=bench_scale.seed, workers=2
    )
    table = census.pupils

    def text(name: str) -> list:
        column = table[name].combine_chunks()
        if pa.types.is_dictionary(column.type):
            column = column.cast(column.type.value_type)
        return column.to_pylist()

    values = {r: text(r) for r in ("forename", "surname", "postcode", "sex")}
    values["date_of_birth"] = [d.isoformat() for d in table["date_of_birth"].to_pylist()]
    clks = BloomEncoder(key=KEY).encode_fields(values)
    names = pa.array(values["forename"], pa.string()).dictionary_encode()
    codes = names.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
    texts = np.asarray(names.dictionary.to_pylist(), dtype=object)

    def run() -> float:
        return pattern_mining_attack(clks, codes, texts, value_counts(texts, codes)).records_share

    share = benchmark.pedantic(run, rounds=1, warmup_rounds=0, iterations=1)
    seconds = float(benchmark.stats.stats.median)
    benchmark.extra_info.update({"records": len(codes), "seconds": seconds, "share": share})
    if bench_scale.full:
        assert seconds <= SECONDS_PER_200K * len(codes) / 200_000


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__, "--benchmark-only"]))
