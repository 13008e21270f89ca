"""Where a machine's cores went during a run: the server's processes (a
uvicorn and its workers), this process (the benchmark's clients), PostgreSQL's
processes, and the machine as a whole, all from /proc.

A server that cannot go faster on more workers because the machine's cores
are already busy shows it here: the shares add up to every core."""

import os
import time
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

from bench.servers import cpu_seconds


def _stat(pid: str) -> tuple[str, int] | None:
    """A process's name and parent, if it still runs."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    name = text[text.index("(") + 1 : text.rindex(")")]
    return name, int(text.rpartition(")")[2].split()[1])


def _processes() -> dict[int, tuple[str, int]]:
    found = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (stat := _stat(entry)) is not None:
            found[int(entry)] = stat
    return found


def _cpu(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        with suppress(OSError):  # ended meanwhile
            total += cpu_seconds(pid)
    return total


def _machine_busy() -> float:
    """CPU seconds of every core not idle or waiting, since boot."""
    fields = [int(value) for value in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    idle = fields[3] + fields[4]
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Reading:
    at: float
    server: float
    clients: float
    postgres: float
    machine: float


def read(server_pid: int) -> Reading:
    processes = _processes()
    tree = {server_pid}
    for pid, (_, parent) in sorted(processes.items()):
        if parent in tree:
            tree.add(pid)
    postgres = [pid for pid, (name, _) in processes.items() if name.startswith("postgres")]
    return Reading(
        time.perf_counter(),
        _cpu(sorted(tree)),
        time.process_time(),
        _cpu(postgres),
        _machine_busy(),
    )


@dataclass(frozen=True)
class Shares:
    """Cores busy on average between two readings."""

    server: float
    clients: float
    postgres: float
    machine: float

    @property
    def rest(self) -> float:
        return max(0.0, self.machine - self.server - self.clients - self.postgres)


def between(before: Reading, after: Reading) -> Shares:
    seconds = after.at - before.at
    return Shares(
        (after.server - before.server) / seconds,
        (after.clients - before.clients) / seconds,
        (after.postgres - before.postgres) / seconds,
        (after.machine - before.machine) / seconds,
    )
