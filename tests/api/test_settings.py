"""Configuration from the environment, checked in fresh interpreters."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def django_setup(**env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "DJANGO_ENV", "DEBUG"}}
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from django.conf import settings; print(settings.DEBUG)",
        ],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "api.settings", **env},
        capture_output=True,
        text=True,
        check=False,
    )


def test_development_default_just_works() -> None:
    result = django_setup()
    assert result.returncode == 0, result.stderr


def test_production_refuses_to_start_without_a_real_secret_key() -> None:
    for secret in ({}, {"SECRET_KEY": "short"}):
        result = django_setup(DJANGO_ENV="production", **secret)
        assert result.returncode != 0
        assert "SECRET_KEY" in result.stderr


def test_production_starts_with_a_real_secret_key() -> None:
    result = django_setup(
        DJANGO_ENV="production", SECRET_KEY="x" * 64, ALLOWED_HOSTS="api.example.com"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


def test_database_url_selects_postgresql_with_a_pool() -> None:
    from api.settings import database_config

    config = database_config("postgres://u:p@db.example.com:5433/catalog")
    assert config["ENGINE"] == "api.postgresql"  # Django's, with its pool checked (api.postgresql)
    assert config["CONN_MAX_AGE"] == 0
    assert "pool" in config["OPTIONS"]  # type: ignore[operator]
    assert config["DISABLE_SERVER_SIDE_CURSORS"] is True


def test_production_settings_pass_the_deployment_checks() -> None:
    clean = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "DJANGO_ENV", "DEBUG"}}
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env={
            **clean,
            "DJANGO_ENV": "production",
            "SECRET_KEY": "".join(chr(33 + (i * 7) % 90) for i in range(64)),
            "ALLOWED_HOSTS": "api.example.com",
            "CORS_ALLOWED_ORIGINS": "https://shop.example.com",
        },
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_a_secret_key_written_in_the_projects_files() -> None:
    from api.settings import _DEV_SECRET_KEY

    readme = next(line for line in (ROOT / "README.md").read_text().splitlines() if len(line) > 60)
    random_key = "".join(chr(33 + (i * 7) % 90) for i in range(64))
    published = [
        ({"SECRET_KEY": _DEV_SECRET_KEY}, "api/settings.py"),
        ({"SECRET_KEY": readme[:60]}, "README.md"),
        ({"SECRET_KEY": random_key, "SECRET_KEY_FALLBACKS": readme[:60]}, "README.md"),
    ]
    for keys, file in published:
        result = django_setup(DJANGO_ENV="production", ALLOWED_HOSTS="api.example.com", **keys)
        assert result.returncode != 0, keys
        assert f"written in {file}" in result.stderr, result.stderr
