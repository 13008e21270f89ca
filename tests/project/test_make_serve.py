"""``make serve``, and ``make install`` (what ``make test`` runs first), on a
machine with no uv and a Python that refuses ``pip install`` outside a
virtual environment, as Debian's and Ubuntu's do."""

import subprocess
from pathlib import Path

import httpx

from tests.conftest import free_port, running_make_serve
from tests.project.fresh_machine import (
    ONCE_PER_TEST_COMMAND,
    copy_of_checkout,
    externally_managed_python,
    without_uv,
)

pytestmark = ONCE_PER_TEST_COMMAND

PRODUCTS = 30


def installed(project: Path, package: str) -> bool:
    return any(project.glob(f".venv/lib/python*/site-packages/{package}/__init__.py"))


def test_make_serve_bootstraps_uv_and_serves_without_the_development_tools(
    tmp_path: Path,
) -> None:
    project = copy_of_checkout(tmp_path / "conveyor")
    python = externally_managed_python(tmp_path / "python")
    env = without_uv(python)
    refused = subprocess.run(
        [python, "-m", "pip", "install", "uv"], env=env, capture_output=True, text=True
    )
    assert "externally-managed-environment" in refused.stderr, refused.stderr

    arguments = [f"PORT={free_port()}", f"DEMO_PRODUCTS={PRODUCTS}"]
    log = tmp_path / "make-serve.log"
    with running_make_serve(arguments, log, cwd=project, env=env, within=600) as base_url:
        query = {"query": "{ products { totalCount } }"}
        body = httpx.post(f"{base_url}/graphql/", json=query).json()
        assert body["data"] == {"products": {"totalCount": PRODUCTS}}

    assert (project / ".bootstrap" / "bin" / "uv").exists()
    assert not list((tmp_path / "python").glob("lib/*/site-packages/uv*"))
    assert installed(project, "django")
    assert not installed(project, "pytest")  # serving needs no development tools

    # make test installs them; serving again keeps them.
    for target in ("install", "runtime"):
        subprocess.run(["make", target], cwd=project, env=env, capture_output=True, check=True)
        assert installed(project, "pytest"), target
