"""The project installed by pip, as well as by uv: ``python -m venv .venv &&
.venv/bin/pip install -e .``, then uvicorn from anywhere."""

import subprocess
from pathlib import Path

import httpx
import pytest

from tests.conftest import running_uvicorn
from tests.project.fresh_machine import BASE_PYTHON, ONCE_PER_TEST_COMMAND, copy_of_checkout

pytestmark = ONCE_PER_TEST_COMMAND

IMPORTABLE = """
import importlib.util
print([name for name in ("accounts", "api", "products", "tests", "bench") if importlib.util.find_spec(name)])
"""


@pytest.mark.django_db
def test_pip_installs_the_project_for_uvicorn_to_serve(
    tmp_path: Path, test_database_url: str
) -> None:
    project = copy_of_checkout(tmp_path / "conveyor")
    venv = tmp_path / "venv"
    python = venv / "bin" / "python"
    subprocess.run([BASE_PYTHON, "-m", "venv", venv], check=True)
    installed = subprocess.run(
        [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-e", project],
        capture_output=True,
        text=True,
    )
    assert installed.returncode == 0, installed.stderr
    elsewhere = tmp_path / "elsewhere"  # nothing of the project on sys.path but the install
    elsewhere.mkdir()

    packages = subprocess.run(
        [python, "-c", IMPORTABLE],
        cwd=elsewhere,
        capture_output=True,
        text=True,
        check=True,
    )
    assert packages.stdout.strip() == "['accounts', 'api', 'products']"
    with running_uvicorn(test_database_url, python=python, cwd=elsewhere) as url:
        body = httpx.post(f"{url}/graphql/", json={"query": "{ products { totalCount } }"}).json()
        assert body["data"] == {"products": {"totalCount": 0}}
