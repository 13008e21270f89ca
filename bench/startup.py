"""How long the commands of a checkout take to start: ``manage.py check``
(every management command pays what it imports), the server until it
answers ``/healthz``, and ``make serve`` as a whole with everything
installed. Each against ``python -c "import django"`` timed in the same
rounds, and against an earlier checkout of the project when one is given:

    python -m bench.startup [--before DIR] [--rounds N]

where DIR holds an earlier commit, e.g. ``git archive <commit> | tar -x -C DIR``.
``check`` and the server run with this interpreter in both checkouts, so that
only the code differs, in two states of the bytecode cache: **cold**, none at
all (nothing compiled, and nothing written, as under PYTHONDONTWRITEBYTECODE
with packages installed without their bytecode), and **warm**, every module
compiled beforehand. ``make serve`` runs each checkout's own Makefile, with
its own ``.venv`` and database, as this environment has it (a first run
installs and seeds, untimed). Then where the cold ``check`` spends its
imports: its top-level imports by ``python -X importtime``.
"""

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Mapping
from pathlib import Path

import httpx

from bench.servers import free_port

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
STARTUP_SECONDS = 600.0


def run(command: list[str], cwd: Path, env: Mapping[str, str]) -> float:
    """Seconds ``command`` took, which must succeed."""
    started = time.perf_counter()
    subprocess.run(command, cwd=cwd, env=env, check=True, capture_output=True)
    return time.perf_counter() - started


def until_healthy(command: list[str], cwd: Path, env: Mapping[str, str], port: int) -> float:
    """Seconds from starting ``command`` (a server on ``port``, with whatever
    it starts first) until ``/healthz`` answers 200; then stops it all."""
    started = time.perf_counter()
    process = subprocess.Popen(
        command,
        cwd=cwd,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        with httpx.Client(timeout=1) as client:
            while time.perf_counter() - started < STARTUP_SECONDS:
                if process.poll() is not None:
                    raise RuntimeError(f"{command} exited with {process.returncode}")
                try:
                    if client.get(f"http://127.0.0.1:{port}/healthz").status_code == 200:
                        return time.perf_counter() - started
                except httpx.TransportError:
                    pass
                time.sleep(0.02)
        raise RuntimeError(f"{command} did not answer within {STARTUP_SECONDS:.0f} s")
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


def server(checkout: Path, env: Mapping[str, str]) -> float:
    port = free_port()
    uvicorn = [PYTHON, "-m", "uvicorn", "api.asgi:application", "--port", str(port)]
    return until_healthy([*uvicorn, "--log-level", "warning"], checkout, env, port)


def make_serve(checkout: Path, env: Mapping[str, str]) -> float:
    port = free_port()
    return until_healthy(["make", "serve", f"PORT={port}"], checkout, env, port)


def cache_states(workdir: Path) -> dict[str, dict[str, str]]:
    """The environment of each bytecode state. With PYTHONPYCACHEPREFIX set,
    Python reads and writes bytecode under that directory alone."""
    base = {
        name: value
        for name, value in os.environ.items()
        if name not in {"PYTHONDONTWRITEBYTECODE", "PYTHONPYCACHEPREFIX", "DATABASE_URL"}
    }
    base |= {
        "DJANGO_SETTINGS_MODULE": "api.settings",
        "DATABASE_URL": f"sqlite:///{workdir / 'bench.sqlite3'}",
    }
    (workdir / "cold").mkdir()
    return {
        "cold": {
            **base,
            "PYTHONPYCACHEPREFIX": str(workdir / "cold"),
            "PYTHONDONTWRITEBYTECODE": "1",
        },
        "warm": {**base, "PYTHONPYCACHEPREFIX": str(workdir / "warm")},
    }


def top_level_imports(checkout: Path, env: Mapping[str, str], shown: int = 6) -> list[str]:
    """The cold ``check``'s costliest top-level imports, as ``-X importtime``
    reports them (cumulative, so each includes what it imported first)."""
    result = subprocess.run(
        [PYTHON, "-X", "importtime", "manage.py", "check"],
        cwd=checkout,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    totals: dict[str, int] = defaultdict(int)
    for line in result.stderr.splitlines():
        if line.startswith("import time:") and not line.endswith("imported package"):
            _, cumulative, name = line.removeprefix("import time:").split("|")
            if not name.startswith("  "):  # imported by no module: by the command itself
                totals[name.strip()] += int(cumulative)
    costliest = sorted(totals.items(), key=lambda item: -item[1])[:shown]
    return [f"{name} {microseconds / 1e6:.2f} s" for name, microseconds in costliest]


def row(state: str, label: str, seconds: list[float], baseline: float | None) -> None:
    """A table row: this checkout, the earlier one if any, and the ratios."""
    cells = [f"{value:.2f}" for value in seconds]
    cells.append(f"{seconds[0] / baseline:.1f}" if baseline else "")
    if len(seconds) > 1:
        cells.append(f"{seconds[0] / seconds[1]:.2f}")
    print(f"| {state} | `{label}` | {' | '.join(cells)} |")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", type=Path, help="a checkout of an earlier commit")
    parser.add_argument("--rounds", type=int, default=5)
    arguments = parser.parse_args()
    checkouts = {"this": ROOT}
    if arguments.before:
        checkouts["before"] = arguments.before.resolve()

    with tempfile.TemporaryDirectory() as directory:
        states = cache_states(Path(directory))
        # Each checkout's make serve on its own database (db.sqlite3).
        serve_env = {name: value for name, value in os.environ.items() if name != "DATABASE_URL"}
        baselines: dict[str, Callable[[Mapping[str, str]], float]] = {
            "python -c pass": lambda env: run([PYTHON, "-c", "pass"], ROOT, env),
            'python -c "import django"': lambda env: run(
                [PYTHON, "-c", "import django"], ROOT, env
            ),
        }
        measures: dict[str, Callable[[Path, Mapping[str, str]], float]] = {
            "manage.py check": lambda checkout, env: run(
                [PYTHON, "manage.py", "check"], checkout, env
            ),
            "uvicorn until /healthz": server,
        }
        print("warming up: the warm cache, and each checkout's make serve", file=sys.stderr)
        for checkout in checkouts.values():
            for measure in measures.values():
                measure(checkout, states["warm"])
            make_serve(checkout, serve_env)

        samples: dict[tuple[str, ...], list[float]] = defaultdict(list)
        for number in range(1, arguments.rounds + 1):
            print(f"round {number}/{arguments.rounds}", file=sys.stderr)
            for state, env in states.items():
                for label, baseline in baselines.items():
                    samples[(state, label)].append(baseline(env))
                for label, measure in measures.items():
                    for name, checkout in checkouts.items():
                        samples[(state, label, name)].append(measure(checkout, env))
            for name, checkout in checkouts.items():
                samples[("make serve", name)].append(make_serve(checkout, serve_env))

        median = {key: statistics.median(values) for key, values in samples.items()}
        print(f"\nMedians of {arguments.rounds} interleaved rounds, in seconds.\n")
        names = list(checkouts)
        ratios = ["this ÷ `import django`"] + (["this ÷ before"] if len(names) > 1 else [])
        print(f"| bytecode | command | {' | '.join(names)} | {' | '.join(ratios)} |")
        print("|---" * (2 + len(names) + len(ratios)) + "|")
        blank = " |" * (len(names) - 1 + len(ratios))
        for state in states:
            django = median[(state, 'python -c "import django"')]
            for label in baselines:
                print(f"| {state} | `{label}` | {median[(state, label)]:.2f} |{blank}")
            for label in measures:
                row(state, label, [median[(state, label, name)] for name in names], django)
        installed = f"as installed (PYTHONDONTWRITEBYTECODE={os.environ.get('PYTHONDONTWRITEBYTECODE', '')})"
        row(installed, "make serve", [median[("make serve", name)] for name in names], None)

        for name, checkout in checkouts.items():
            print(f"\nCold `manage.py check` of {name}, costliest top-level imports:")
            for line in top_level_imports(checkout, states["cold"]):
                print(f"- {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
