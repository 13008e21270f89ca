"""The JavaScript clients of the suite (Apollo Client, urql, graphql-sse, the
GraphQL-over-HTTP audit…), run by Node against a real server.

A client is a script that takes its arguments from the command line, talks to
the server, and prints what it saw as one JSON document on stdout's last line.
Its packages come from package-lock.json (`make node_modules`)."""

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent


def node() -> str:
    """Node.js, from Debian's nodejs package: CI (.ci/run) installs it and
    fails without it."""
    path = shutil.which("node")
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("node is not installed; .ci/run installs it with apt-get")
        pytest.skip("needs Node.js (apt-get install nodejs npm)")
    if not (ROOT / "node_modules").is_dir():
        pytest.fail("the JavaScript clients are not installed: run `make node_modules`")
    return path


def run_node(
    script: Path, *arguments: str, timeout: float = 60, env: dict[str, str] | None = None
) -> Any:
    """Runs `script` to its end and returns the JSON it printed last; a
    failed script fails the test with what it wrote to stderr."""
    completed = subprocess.run(
        [node(), str(script), *arguments],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
        check=False,
    )
    if completed.returncode != 0:
        pytest.fail(
            f"{script.name} exited with {completed.returncode}:\n"
            f"{completed.stderr[-4000:]}\n{completed.stdout[-2000:]}"
        )
    lines = completed.stdout.strip().splitlines()
    if not lines:
        pytest.fail(f"{script.name} printed nothing:\n{completed.stderr[-4000:]}")
    return json.loads(lines[-1])
