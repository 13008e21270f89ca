"""What every benchmark command shares: progress lines on stderr (the tables
go to stdout), and the options of a command made of scenarios, each of which
also runs alone and offers only the flags it reads."""

import argparse
import sys
import time
from collections.abc import Mapping, Sequence
from typing import Any


def progress(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def add_scenario_arguments(
    parser: argparse.ArgumentParser,
    scenarios: Sequence[Any],
    flags: Mapping[str, Mapping[str, Any]],
) -> tuple[str, ...]:
    """``--section`` when the command runs more than one of ``scenarios``,
    and those of ``flags`` that they read (each its ``flags``); the sections
    of them all, in their order."""
    sections = tuple(scenario.section for scenario in scenarios)
    if len(sections) > 1:
        parser.add_argument(
            "--section",
            action="append",
            choices=sections,
            help="run only this section (repeatable; default: all)",
        )
    read = {flag for scenario in scenarios for flag in scenario.flags}
    for flag, spec in flags.items():
        if flag in read:
            parser.add_argument(flag, **spec)
    return sections


async def measure(bench: Any, scenarios: Sequence[Any], options: Any) -> None:
    """Runs on ``bench`` the ``scenarios`` that ``options.sections`` chooses,
    in their order, and prints their tables together at the end."""
    output: list[str] = []
    started = time.perf_counter()
    for scenario in scenarios:
        if scenario.section in options.sections:
            output += ["", *await scenario.measure(bench, options)]
    progress(f"done in {time.perf_counter() - started:.0f} s")
    print("\n".join(output).lstrip("\n"))
