"""Faker's side of the whole-process generation benchmark, run as its own process::

    python -m benchmarks._faker_child RECORDS SEED OUT.parquet

From nothing to a file of records, as ``matchsim generate`` goes: import Faker, build
``Faker("en_GB")``, draw each record one field at a time (forename, surname, date of birth,
street address, city, postcode: the fields of ``test_generation.faker_records``) and write
them to Parquet. The parent times the whole process, start-up included.
"""

from __future__ import annotations

import sys

from benchmarks._single_core import configure_child

configure_child()

import pyarrow as pa  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402
from faker import Faker  # noqa: E402


def main(n: int, seed: int, out: str) -> None:
    Faker.seed(seed)
    fake = Faker("en_GB")
    columns: dict[str, list] = {
        k: [] for k in ("forename", "surname", "date_of_birth", "address", "city", "postcode")
    }
    for _ in range(n):
        columns["forename"].append(fake.first_name())
        columns["surname"].append(fake.last_name())
        columns["date_of_birth"].append(fake.date_of_birth(minimum_age=4, maximum_age=18))
        columns["address"].append(fake.street_address())
        columns["city"].append(fake.city())
        columns["postcode"].append(fake.postcode())
    pq.write_table(pa.table(columns), out)
    print(f'{{"records": {n}}}')


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]), sys.argv[3])
