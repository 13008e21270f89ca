from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from persisted_queries.manifests import ManifestError, read_manifest
from persisted_queries.services import register


class Command(BaseCommand):
    help = (
        "Registers the trusted GraphQL documents of persisted-document manifests "
        "(Relay's persisted queries JSON, GraphQL Codegen's persisted-documents.json)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("paths", nargs="+", type=Path, metavar="PATH")

    def handle(self, *args: Any, **options: Any) -> None:
        documents: dict[str, str] = {}
        try:
            # Every file is read before anything is written: a bad one
            # registers nothing.
            for path in options["paths"]:
                documents.update(read_manifest(path))
        except ManifestError as error:
            raise CommandError(str(error)) from None
        count = register(documents)
        self.stdout.write(f"Registered {count} document{'s' if count != 1 else ''}.")
