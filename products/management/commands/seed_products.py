import random
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db.models import Max
from django.utils import timezone
from tqdm import tqdm

from products import services
from products.factories import CategoryFactory, ProductFactory
from products.models import Category, Product

BATCH_SIZE = 5_000


def discount() -> Decimal | None:
    """Most products have no discount of their own; some have one, a few a 0 override."""
    roll = random.random()
    if roll < 0.8:
        return None
    if roll < 0.83:
        return Decimal("0.00")
    return Decimal(random.choice([5, 10, 15, 20, 25, 30, 40, 50]))


class Command(BaseCommand):
    help = "Adds N realistic products (and categories) in bulk, with a progress bar."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--count", type=int, required=True, help="products to add")
        parser.add_argument(
            "--categories",
            type=int,
            default=None,
            help="categories to add first (default: 20 when there are none, else none)",
        )
        parser.add_argument(
            "--seed", type=int, default=None, help="random seed, for repeatable data"
        )
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")
        parser.add_argument(
            "--if-empty", action="store_true", help="do nothing when the catalog has products"
        )

    def handle(self, *args: Any, count: int, categories: int | None, seed: int | None,
               no_progress: bool, if_empty: bool, **options: Any) -> None:  # fmt: skip
        if if_empty and Product.objects.exists():
            self.stdout.write("The catalog has products already; nothing added.")
            return
        if count < 0:
            self.stderr.write("--count must not be negative")
            raise SystemExit(2)
        random.seed(seed)
        if categories is None:
            categories = 0 if Category.objects.exists() else 20
        for _ in range(categories):
            CategoryFactory(discount_percent=random.choice([None, None, Decimal(10), Decimal(25)]))
        all_categories = list(Category.objects.all())

        # Continue the factory's SKU sequence past every product already there.
        ProductFactory.reset_sequence((Product.objects.aggregate(top=Max("id"))["top"] or 0) + 1)
        start = timezone.now() - timedelta(seconds=count)
        with tqdm(total=count, unit="products", disable=no_progress) as progress:
            made = 0
            while made < count:
                batch = ProductFactory.build_batch(
                    min(BATCH_SIZE, count - made), category=None, discount_percent=None
                )
                for offset, product in enumerate(batch, start=made):
                    category = random.choice(all_categories) if all_categories else None
                    product.category = category
                    product.discount_percent = discount()
                    product.created_at = start + timedelta(seconds=offset)
                services.add_products(batch)
                made += len(batch)
                progress.update(len(batch))
        self.stdout.write(f"Added {count} products; the catalog has {Product.objects.count()}.")
