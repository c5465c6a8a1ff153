"""Attacks on Bloom-filter encodings, each with its paper, and the attacker's knowledge as
explicit parameters (see docs/pprl.md, "Attacks"):

* :func:`frequency_alignment_attack` — frequent filters aligned with frequent values (Kuzu et
  al. 2011; Christen et al. 2017);
* :func:`pattern_mining_attack` — frequent filters aligned with frequent values identify
  q-grams' bit positions, then every filter is decoded (Christen, Schnell, Vatsalan &
  Ranbaduge, PAKDD 2017);
* :func:`itemset_attack` — maximal frequent itemsets of bit positions identify q-grams, then
  values, even when every filter is unique (Christen, Vidanage, Ranbaduge & Schnell, PAKDD
  2018);
* :func:`graph_matching_attack` — the encodings' similarity graph aligned with the attacker's
  plaintext one (Culnane, Rubinstein & Teague 2017; Vidanage et al. 2019, 2020).
"""

from __future__ import annotations

from matchsim.pprl.attacks.frequency import (
    AttackResult,
    frequency_alignment_attack,
    frequency_guesses,
)
from matchsim.pprl.attacks.graph import graph_matching_attack, sample_nodes
from matchsim.pprl.attacks.itemsets import identify_qgrams_by_itemsets, itemset_attack
from matchsim.pprl.attacks.knowledge import (
    AttackLabels,
    AttackOutcome,
    overlap_list,
    score,
    value_counts,
)
from matchsim.pprl.attacks.pattern_mining import identify_qgrams, pattern_mining_attack

__all__ = [
    "AttackLabels",
    "AttackOutcome",
    "AttackResult",
    "frequency_alignment_attack",
    "frequency_guesses",
    "graph_matching_attack",
    "identify_qgrams",
    "identify_qgrams_by_itemsets",
    "itemset_attack",
    "overlap_list",
    "pattern_mining_attack",
    "sample_nodes",
    "score",
    "value_counts",
]
