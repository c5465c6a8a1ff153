"""Derive the shipped ONS first-name tables from the published ONS files.

Run from a checkout (the inputs are not shipped; ``matchsim/data/names/README.md`` says where
they come from)::

    python -m matchsim.data.build_forenames \\
        ons-baby-names-england-wales-1996-2020.csv.gz \\
        ons-top100-first-names-england-wales-1904-1994.csv

It writes ``names/ons_forenames.parquet`` (every name given to 3 or more babies of one sex in
one year, 1996-2020, with its count), ``names/ons_top100_1904_1994.csv`` (the decade top-100
ranks) and ``names/forename_origins.csv`` (the origin lexicons each ONS name belongs to), then
prints the SHA-256 digests that :mod:`matchsim.synth.forenames` checks on load.
"""

from __future__ import annotations

import argparse
import hashlib
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

NAMES_DIR = Path(__file__).parent / "names"
ATTRIBUTION = (
    "Source: Office for National Statistics licensed under the Open Government Licence v3.0."
)


def build_full_lists(source: Path, out: Path) -> pd.DataFrame:
    """The 1996-2020 lists, sorted by year, sex (M then F) and descending count, as a zstd
    Parquet file."""
    table = pd.read_csv(source, keep_default_na=False)
    table["girl"] = table["sex"] == "F"
    table = table.sort_values(
        ["year", "girl", "n", "name"], ascending=[True, True, False, True], kind="stable"
    )[["year", "sex", "name", "n"]]
    arrow = pa.table(
        {
            "year": pa.array(table["year"].to_numpy(), pa.int16()),
            "sex": pa.array(table["sex"].to_numpy(), pa.string()).dictionary_encode(),
            "name": pa.array(table["name"].to_numpy(), pa.string()).dictionary_encode(),
            "n": pa.array(table["n"].to_numpy(), pa.int32()),
        }
    )
    arrow = arrow.replace_schema_metadata({"source": ATTRIBUTION})
    pq.write_table(arrow, out, compression="zstd", compression_level=19)
    return table


def build_top100(source: Path, out: Path) -> None:
    table = pd.read_csv(source, keep_default_na=False)[["year", "sex", "rank", "name"]]
    table = table.sort_values(["year", "sex", "rank", "name"], kind="stable")
    header = (
        "# Top 100 first names given to boys and girls in England and Wales, 1904-1994 "
        "(every tenth year; ranks only).\n"
        "# Source: ONS, Baby names in England and Wales, historic top-100 file. "
        f"{ATTRIBUTION}\n"
        "# Derived by matchsim/data/build_forenames.py (columns reordered and sorted).\n"
    )
    out.write_text(header + table.to_csv(index=False), encoding="utf-8")


#: Names in common English-language use in England that a Faker minority lexicon also lists
#: (Faker's en_IN, pl_PL, ro_RO, tr_TR, en_NG, en_KE and sw lists hold many international names).
#: A matchsim judgement, reviewed by hand down the ONS mass ranking of the names those lexicons
#: alone claimed; without it, "Kai" would be 9% of Indian-origin boys.
BRITISH_TOO = frozenset(
    [
        "Kai",
        "Teddy",
        "Iris",
        "Elena",
        "Maximilian",
        "Natalia",
        "Jonah",
        "Raphael",
        "Rafael",
        "Romeo",
        "Arya",
        "Amara",
        "Anya",
        "Liliana",
        "Eliana",
        "Lia",
        "Valentina",
        "Livia",
        "Fabian",
        "Marcel",
        "Antonia",
        "Alina",
        "Emmanuel",
        "Lila",
        "Lili",
        "Maxim",
        "Aurelia",
        "Flora",
        "Abel",
        "Ezekiel",
        "Abraham",
        "Solomon",
        "Benedict",
        "Wilfred",
        "Aron",
        "Elias",
        "Ada",
        "Eliza",
        "Beatrice",
        "Edith",
        "Lillian",
        "Millicent",
        "Bruno",
        "Juliet",
        "Astrid",
        "Emmy",
        "Nelly",
        "Reagan",
        "Kennedy",
        "Gideon",
        "Celia",
        "Jemimah",
        "Sammy",
        "Julius",
        "Elly",
        "Frida",
        "Mathias",
        "Juliana",
        "Elvis",
        "Linus",
        "Stan",
        "Christabel",
        "Carolina",
        "Frederic",
        "Fredrick",
    ]
)


#: Names of the romanised lists that Faker's English lists or ONS's 1994 top 100 also hold because
#: of Britain's Muslim population, not because English-heritage families use them: they are taken
#: out of the british lexicon (a matchsim judgement, from the 27 names the two lists share).
ROMANISED_ONLY = frozenset(["Mohammed", "Mohammad", "Mohamed", "Abdul", "Ayesha", "Omar", "Malik"])


def build_origin_lexicon(names: pd.Series, top100: pd.Series, out: Path) -> None:
    """For each ONS name, the built-in origins whose name lexicon contains it (accent- and
    case-insensitively); names in no lexicon are left out (they count as ``british``).

    The ``british`` lexicon is Faker's English-language lists and ONS's top-2011 names, widened by
    every name of the ONS decade top-100 lists 1904-1994, the canonical names of the
    ``nicknames`` package's English list, and :data:`BRITISH_TOO`; names of the hand-compiled
    romanised lists (Pakistani, Bangladeshi, Punjabi Sikh, Arabic, Somali) are never widened,
    and :data:`ROMANISED_ONLY` (Mohammed, Omar, ...) is taken out of it.
    """
    import csv
    from importlib import resources as res

    from matchsim.synth.forenames import lexicon_key, origin_lexicons
    from matchsim.synth.origins import ORIGINS

    lexicons = dict(origin_lexicons(tuple(ORIGINS)))
    romanised = frozenset().union(
        *(
            lexicons[o]
            for o, spec in ORIGINS.items()
            if spec.shipped_list is not None and not spec.forename_locales
        )
    )
    with res.files("nicknames").joinpath("names.csv").open("r", encoding="utf-8") as fh:
        canonical = {row["name1"] for row in csv.DictReader(fh)}
    widen = {lexicon_key(n) for n in (*top100, *canonical, *BRITISH_TOO)}
    only = {lexicon_key(n) for n in ROMANISED_ONLY}
    lexicons["british"] = (lexicons["british"] | (widen - romanised)) - only
    distinct = pd.Series(sorted(set(names)))
    rows = []
    for name in distinct:
        key = lexicon_key(name)
        found = [origin for origin, members in lexicons.items() if key in members]
        if found:
            rows.append((name, ";".join(found)))
    header = (
        "# The origin lexicons each ONS first name belongs to (see docs/world.md, 'First names').\n"
        "# Derived by matchsim/data/build_forenames.py from the Faker locales and shipped romanised\n"
        "# lists named in matchsim/synth/names.py ORIGINS, matched accent- and case-insensitively;\n"
        "# the british lexicon is widened as build_origin_lexicon's docstring says.\n"
        "# Names of the ONS lists that are in no lexicon are absent here and count as british.\n"
    )
    frame = pd.DataFrame(rows, columns=["name", "origins"])
    out.write_text(header + frame.to_csv(index=False), encoding="utf-8")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("full_lists", type=Path, help="ONS 1996-2020 names with counts (csv.gz)")
    parser.add_argument("top100", type=Path, help="ONS decade top-100 lists 1904-1994 (csv)")
    args = parser.parse_args(argv)
    full = build_full_lists(args.full_lists, NAMES_DIR / "ons_forenames.parquet")
    build_top100(args.top100, NAMES_DIR / "ons_top100_1904_1994.csv")
    top100 = pd.read_csv(args.top100, keep_default_na=False)["name"]
    build_origin_lexicon(full["name"], top100, NAMES_DIR / "forename_origins.csv")
    for name in ("ons_forenames.parquet", "ons_top100_1904_1994.csv", "forename_origins.csv"):
        digest = hashlib.sha256((NAMES_DIR / name).read_bytes()).hexdigest()
        print(f"{name}: {digest}")


if __name__ == "__main__":
    main()
