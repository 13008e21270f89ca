"""The code a before/after benchmark measures: another commit's tree,
exported (``git archive``) into a temporary directory and run from there by
this interpreter with the same installed packages, and this checkout."""

import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from bench.servers import ROOT


@dataclass(frozen=True)
class Code:
    label: str  # the commit, as printed beside the figures
    root: Path


def git(*args: str) -> str:
    done = subprocess.run(["git", *args], cwd=ROOT, check=True, capture_output=True, text=True)
    return done.stdout.strip()


@contextmanager
def exported(ref: str) -> Iterator[Code]:
    """The tree of ``ref`` in a temporary directory, removed on the way out."""
    commit = git("rev-parse", "--short", f"{ref}^{{commit}}")
    with tempfile.TemporaryDirectory(prefix="conveyor-baseline-") as directory:
        archive = subprocess.run(
            ["git", "archive", "--format=tar", commit], cwd=ROOT, check=True, capture_output=True
        )
        subprocess.run(["tar", "-x", "-C", directory], input=archive.stdout, check=True)
        yield Code(commit, Path(directory))


def checkout() -> Code:
    """This checkout, uncommitted changes included."""
    changed = subprocess.run(["git", "diff", "--quiet", "HEAD"], cwd=ROOT).returncode != 0
    commit = git("rev-parse", "--short", "HEAD")
    return Code(f"{commit} + uncommitted changes" if changed else commit, ROOT)
