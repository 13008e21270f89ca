"""The project's settings with every SQL statement logged, for a server whose
queries a benchmark counts (``DJANGO_SETTINGS_MODULE=bench.sql_log_settings``).

Django logs statements to ``django.db.backends`` at DEBUG, and only in debug
mode; its default ``django`` logger stops at INFO, so ``DEBUG=1
LOG_LEVEL=DEBUG`` alone logs none of them.
"""

from api.settings import *  # noqa: F403
from api.settings import LOGGING

DEBUG = True
LOGGING = {
    **LOGGING,
    "loggers": {
        "django.db.backends": {"level": "DEBUG", "handlers": ["console"], "propagate": False}
    },
}
