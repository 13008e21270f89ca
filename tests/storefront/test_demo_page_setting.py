"""``DEMO_PAGE``: on in development, off in production, either way when set;
read by fresh interpreters, as the settings are at start."""

import os
import subprocess
import sys

import pytest

from tests.conftest import ROOT

PRODUCTION = {"DJANGO_ENV": "production", "SECRET_KEY": "x" * 64, "ALLOWED_HOSTS": "example.com"}


def demo_page(**env: str) -> str:
    clean = {k: v for k, v in os.environ.items() if k not in {"DEMO_PAGE", "DJANGO_ENV", "DEBUG"}}
    completed = subprocess.run(
        [sys.executable, "-c", "from api import settings; print(settings.DEMO_PAGE)"],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        check=True,
    )
    return completed.stdout.strip()


@pytest.mark.parametrize(
    ("env", "shown"),
    [
        ({}, "True"),
        (PRODUCTION, "False"),
        ({**PRODUCTION, "DEMO_PAGE": "true"}, "True"),
        ({**PRODUCTION, "DEMO_PAGE": "1"}, "True"),
        ({"DEMO_PAGE": "false"}, "False"),
        ({"DEMO_PAGE": "0"}, "False"),
    ],
)
def test_demo_page_setting(env: dict[str, str], shown: str):
    assert demo_page(**env) == shown
