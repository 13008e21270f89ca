"""Every ``productStream`` snapshot scenario in one run, in this order, on the
same two databases: the command behind the figures of docs/benchmarks.md.

    DATABASE_URL=postgres://.../conveyor_bench python -m bench.streams [--quick] [--section ...]

``--section`` (repeatable) keeps only the scenarios it names; each one also
runs alone as ``python -m bench.streams.<module>``. See
``bench.streams.harness`` for what the run prepares.
"""

import sys

from bench.streams import concurrency, memory, throughput, ttfb
from bench.streams.harness import main

SCENARIOS = (ttfb.SCENARIO, throughput.SCENARIO, memory.SCENARIO, concurrency.SCENARIO)

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:], SCENARIOS, "python -m bench.streams", __doc__))
