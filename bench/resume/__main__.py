"""Every resume scenario in one run, in this order: the command behind the
figures of docs/benchmarks.md.

    DATABASE_URL=postgres://.../conveyor_bench_resume python -m bench.resume [--section ...]

``--section`` (repeatable: ``reconnect``, ``restart``, ``log``) keeps only
the scenarios it names; each one also runs alone as ``python -m
bench.resume.<module>``. See ``bench.resume.harness`` for what the run
prepares.
"""

import sys

from bench.resume import log_size, reconnect, restart
from bench.resume.harness import main

SCENARIOS = (reconnect.SCENARIO, restart.SCENARIO, log_size.SCENARIO)

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:], SCENARIOS, "python -m bench.resume", __doc__))
