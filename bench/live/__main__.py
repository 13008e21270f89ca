"""Every live-updates scenario in one run, in this order, on one prepared
database: the command behind the figures of docs/benchmarks.md.

    DATABASE_URL=postgres://.../conveyor_bench_live python -m bench.live [--quick] [--section ...]

``--section`` (repeatable) keeps only the scenarios it names; each one also
runs alone as ``python -m bench.live.<module>``. See ``bench.live.harness``
for what the run prepares.
"""

import sys

from bench.live import category_discount, fanout, queries, two_processes
from bench.live.harness import main

SCENARIOS = (fanout.SCENARIO, queries.SCENARIO, category_discount.SCENARIO, two_processes.SCENARIO)

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:], SCENARIOS, "python -m bench.live", __doc__))
