"""The checkout as a newcomer gets it, on a machine like theirs: a copy of its
files, and interpreters such as a distribution ships.

These tests use nothing of the suite's database but a URL to serve, so they
run in the SQLite pass of the test command alone."""

import os
import shutil
import subprocess
import sysconfig
from pathlib import Path

import pytest

from tests.conftest import ROOT, SUITE_ON_POSTGRESQL

# The marks of these tests.
ONCE_PER_TEST_COMMAND = [
    pytest.mark.slow,
    pytest.mark.skipif(SUITE_ON_POSTGRESQL, reason="runs once per test command, on SQLite"),
]

VERSION = sysconfig.get_python_version()
# The interpreter this one's virtual environment is made from.
BASE_PYTHON = Path(sysconfig.get_config_var("BINDIR")) / f"python{VERSION}"


def copy_of_checkout(destination: Path) -> Path:
    """The files a fresh clone has, with the changes not yet committed."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    )
    for name in filter(None, listed.stdout.decode().split("\0")):
        source = ROOT / name
        if source.is_file():  # else deleted, not yet committed
            (destination / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, destination / name)
    return destination


def externally_managed_python(destination: Path) -> Path:
    """A throwaway copy of the base interpreter that, like Debian's and
    Ubuntu's, refuses ``pip install`` outside a virtual environment (PEP 668):
    its executable copied, its standard library linked entry by entry beside
    an ``EXTERNALLY-MANAGED`` marker, and pip alone in its site-packages."""
    python = destination / "bin" / "python3"
    python.parent.mkdir(parents=True)
    shutil.copy2(BASE_PYTHON, python)
    lib = destination / "lib"
    stdlib = lib / f"python{VERSION}"
    stdlib.mkdir(parents=True)
    # An executable that finds libpython relative to itself finds it here.
    soname = sysconfig.get_config_var("INSTSONAME")
    if soname and (shared := Path(sysconfig.get_config_var("LIBDIR")) / soname).exists():
        (lib / soname).symlink_to(shared)
    original = Path(sysconfig.get_path("stdlib"))
    for entry in original.iterdir():
        if entry.name != "site-packages":
            (stdlib / entry.name).symlink_to(entry)
    (stdlib / "EXTERNALLY-MANAGED").write_text(
        "[externally-managed]\nError=This Python is managed by the system's packages.\n"
    )
    (stdlib / "site-packages").mkdir()
    # pip runs from its wheel, the one ensurepip bundles.
    (wheel,) = (original / "ensurepip" / "_bundled").glob("pip-*.whl")
    (stdlib / "site-packages" / "pip.pth").write_text(f"{wheel}\n")
    return python


def without_uv(python: Path) -> dict[str, str]:
    """The environment with ``python``'s directory first on PATH, and no
    directory that holds a ``uv``, nor a virtual environment's variables."""
    path = [str(python.parent)] + [
        directory
        for directory in os.environ["PATH"].split(os.pathsep)
        if directory and not (Path(directory) / "uv").exists()
    ]
    return {
        **{
            name: value
            for name, value in os.environ.items()
            if name != "VIRTUAL_ENV" and not name.startswith(("UV_PYTHON", "UV_PROJECT"))
        },
        "PATH": os.pathsep.join(path),
    }
