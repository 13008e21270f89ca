"""The project's settings with the bench routes added, for the server the
benchmarks start (``DJANGO_SETTINGS_MODULE=bench.settings``)."""

from api.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
