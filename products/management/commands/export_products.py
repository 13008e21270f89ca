import asyncio
import os
from pathlib import Path
from typing import Any, BinaryIO

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from products.export import (
    PARAMETERS,
    BadExportRequest,
    ExportFormat,
    ExportRequest,
    export_chunks,
)
from products.selectors import filter_products


class Command(BaseCommand):
    help = (
        "Writes the catalog (filtered, ordered) to a file as CSV or NDJSON, as the export "
        "endpoints serve it, in chunks, with a progress bar."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--format", required=True, choices=[f.value for f in ExportFormat])
        parser.add_argument("--output", required=True, type=Path, help="the file to write")
        parser.add_argument("--search", help="case-insensitive match on name or sku")
        parser.add_argument(
            "--category", action="append", help="a category's global ID (repeatable)"
        )
        parser.add_argument("--on-sale", choices=["true", "false"])
        parser.add_argument("--in-stock", choices=["true", "false"])
        parser.add_argument(
            "--order", help="created_at (default), name, price or discounted_price; -price: DESC"
        )
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")

    def handle(self, *args: Any, format: str, output: Path, no_progress: bool,
               **options: Any) -> None:  # fmt: skip
        # The endpoints' parameters, checked the same way.
        params = {
            name: value if isinstance(value, list) else [value]
            for name in PARAMETERS
            if (value := options[name]) is not None
        }
        try:
            export = ExportRequest.from_params(params)
        except BadExportRequest as error:
            raise CommandError(str(error)) from None
        total = filter_products(export.criteria).count()
        # Written aside and renamed when complete: a failed export leaves no
        # truncated file that looks whole.
        partial = output.with_name(output.name + ".partial")
        try:
            with (
                partial.open("wb") as out,
                tqdm(total=total, unit="products", disable=no_progress) as progress,
            ):
                written = asyncio.run(self._write(export, ExportFormat(format), out, progress))
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        os.replace(partial, output)
        self.stdout.write(f"Wrote {written} products to {output}.")

    @staticmethod
    async def _write(
        export: ExportRequest, format: ExportFormat, out: BinaryIO, progress: "tqdm[Any]"
    ) -> int:
        written = 0
        async for chunk in export_chunks(export, format):
            out.write(chunk.data)
            progress.update(chunk.rows)
            written += chunk.rows
        return written
