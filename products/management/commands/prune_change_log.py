from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from products.retention import prune


class Command(BaseCommand):
    help = (
        "Deletes the changes older than CHANGE_LOG_RETENTION seconds from the change log "
        "(the server does it every CHANGE_LOG_PRUNE_INTERVAL seconds as well)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--retention",
            type=float,
            default=None,
            help="seconds of changes to keep (default: CHANGE_LOG_RETENTION)",
        )

    def handle(self, *args: Any, retention: float | None, **options: Any) -> None:
        keep = settings.CHANGE_LOG_RETENTION if retention is None else retention
        pruned = prune(keep)
        self.stdout.write(f"Pruned {pruned} changes older than {keep:g} s.")
