"""What a management command imports, checked in a fresh interpreter: not the
GraphQL schema, which only the server needs (api.http.lazy_views)."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

CHECK_THEN_LIST_MODULES = """
import io
import sys

import django
from django.core.management import call_command

django.setup()
call_command("check", stdout=io.StringIO())
print(sorted(name for name in ("strawberry", "strawberry_django", "graphql") if name in sys.modules))
"""


def test_the_system_checks_import_no_graphql() -> None:
    result = subprocess.run(
        [sys.executable, "-c", CHECK_THEN_LIST_MODULES],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "api.settings"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
