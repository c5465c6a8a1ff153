"""matchsim's side of the CLK encoding benchmarks, in a process of its own::

    python -m benchmarks._clk_child COLUMNS.json KEY ROUNDS

``COLUMNS.json`` holds the records as one list of strings per field (forename, surname,
date_of_birth as ``YYYY-MM-DD``, postcode, sex). Reading it is not timed: it is the input,
as clkhash's side (``benchmarks/_pprl_peer.py``) reads its own file untimed.

What is timed, in the same three steps as clkhash's side:

* **import**: from before matchsim (or any library it imports: numpy, pyarrow) is
  imported to ``BloomEncoder`` in hand; in this fresh interpreter nothing was imported before;
* **first encode**: ``BloomEncoder(key=KEY).encode_fields(columns)``, the first call in the
  process: it loads numba and the compiled kernels (from numba's cache when it holds them,
  else compiling them: the parent points ``NUMBA_CACHE_DIR`` at an empty directory to time
  that) and encodes every record;
* **rounds**: ``ROUNDS`` more calls, the steady state (everything loaded).

The parent runs this pinned to one core with every thread setting at one
(``benchmarks/_single_core.py``). It prints one JSON line: wall and CPU seconds of each step,
a digest of the CLKs (the same bits in every process, cold or warm) and the kernel used.
"""

from __future__ import annotations

import hashlib
import json
import statistics
import sys
import time
from pathlib import Path


def main(path: str, key: str, rounds: int) -> dict:
    columns = json.loads(Path(path).read_text())

    def clock() -> tuple[float, float]:
        return time.perf_counter(), time.process_time()

    def since(start: tuple[float, float]) -> tuple[float, float]:
        wall, cpu = clock()
        return wall - start[0], cpu - start[1]

    start = clock()
    from benchmarks._single_core import configure_child

    single = configure_child()  # imports pyarrow (matchsim imports it anyway) and sets its pools
    from matchsim.pprl import BloomEncoder

    import_seconds, import_cpu = since(start)

    start = clock()
    encoder = BloomEncoder(key=key.encode())
    clks = encoder.encode_fields(columns)
    first_seconds, first_cpu = since(start)

    walls, cpus = [], []
    for _ in range(rounds):
        start = clock()
        again = BloomEncoder(key=key.encode()).encode_fields(columns)
        wall, cpu = since(start)
        walls.append(wall)
        cpus.append(cpu)
        assert (again == clks).all()
    records = len(columns["forename"])
    assert clks.shape[0] == records
    return {
        "records": records,
        "single_core": single,
        "kernel": encoder.kernel,
        "import_seconds": import_seconds,
        "import_cpu_seconds": import_cpu,
        "first_seconds": first_seconds,
        "first_cpu_seconds": first_cpu,
        "round_seconds": walls,
        "round_cpu_seconds": cpus,
        "seconds": statistics.median(walls) if walls else None,
        "cpu_seconds": statistics.median(cpus) if cpus else None,
        "digest": hashlib.sha256(clks.tobytes()).hexdigest()[:16],
    }


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], sys.argv[2], int(sys.argv[3]))))
