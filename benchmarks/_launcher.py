"""Run a command and record that process's own peak RSS and CPU time.

::

    python benchmarks/_launcher.py USAGE_PATH COMMAND [ARG ...]

Linux keeps a process's ``ru_maxrss`` across exec: a process starts with the peak RSS of the
process it was forked from. A child forked straight from pytest would therefore report at
least pytest's own peak. This tiny interpreter forks the measured process instead, reaps it
with ``os.wait4`` and writes that child's own rusage to ``USAGE_PATH`` as JSON
(``returncode``, ``ru_maxrss_kib``, ``cpu_seconds``); it exits with the child's code. It
imports only the standard library, so that its own footprint is what a bare interpreter's is.
"""

import json
import os
import subprocess
import sys


def main(argv: list[str]) -> int:
    usage_path, command = argv[0], argv[1:]
    proc = subprocess.Popen(command)
    _, status, usage = os.wait4(proc.pid, 0)
    returncode = os.waitstatus_to_exitcode(status)
    proc.returncode = returncode
    with open(usage_path, "w") as f:
        json.dump(
            {
                "returncode": returncode,
                "ru_maxrss_kib": usage.ru_maxrss,
                "cpu_seconds": usage.ru_utime + usage.ru_stime,
            },
            f,
        )
    return returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
