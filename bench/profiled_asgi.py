"""The project's ASGI application with cProfile switched on and off by signals,
to profile a server during one phase of a benchmark only:

    PROFILE_PATH=server.prof uvicorn bench.profiled_asgi:application

SIGUSR1 starts profiling the event loop's thread (the main thread, where the
handler runs); SIGUSR2 stops and writes the stats to ``PROFILE_PATH``, and
the garbage collector's passes while profiling (count and seconds per
generation) to ``PROFILE_PATH.gc.json``. ``PROFILE_CLOCK=cpu`` times the
thread's CPU time instead of wall time (slower: a system call per event).
"""

import cProfile
import gc
import json
import os
import signal
import time
from pathlib import Path
from types import FrameType
from typing import Any

from api.asgi import application

__all__ = ["application"]

_clock = time.thread_time if os.environ.get("PROFILE_CLOCK") == "cpu" else time.perf_counter
_profile = cProfile.Profile(_clock)
_collections: dict[int, list[float]] = {0: [0, 0.0], 1: [0, 0.0], 2: [0, 0.0]}
_started: list[float] = []


def _on_gc(phase: str, info: dict[str, Any]) -> None:
    if phase == "start":
        _started[:] = [time.perf_counter()]
    elif _started:
        totals = _collections[info["generation"]]
        totals[0] += 1
        totals[1] += time.perf_counter() - _started[0]


def _start(signum: int, frame: FrameType | None) -> None:
    gc.callbacks.append(_on_gc)
    _profile.enable()


def _stop(signum: int, frame: FrameType | None) -> None:
    _profile.disable()
    gc.callbacks.remove(_on_gc)
    path = os.environ["PROFILE_PATH"]
    _profile.dump_stats(path)
    Path(f"{path}.gc.json").write_text(json.dumps(_collections))


signal.signal(signal.SIGUSR1, _start)
signal.signal(signal.SIGUSR2, _stop)
