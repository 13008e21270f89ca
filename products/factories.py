"""factory-boy factories: test data, demo data and the bulk seeder share them."""

import random
from decimal import Decimal
from typing import Any

import factory
from django.utils.text import slugify
from factory.django import DjangoModelFactory

from products import services
from products.models import Category, Product

DEPARTMENTS = [
    "Audio", "Books", "Cameras", "Garden", "Kitchen", "Lighting", "Outdoor", "Office",
    "Toys", "Tools", "Sports", "Travel", "Beauty", "Pets", "Games", "Music",
]  # fmt: skip
ADJECTIVES = [
    "Compact", "Classic", "Deluxe", "Ergonomic", "Foldable", "Handmade", "Heavy-Duty",
    "Lightweight", "Modern", "Portable", "Rechargeable", "Rustic", "Smart", "Vintage",
    "Waterproof", "Wireless",
]  # fmt: skip
MATERIALS = [
    "Bamboo", "Brass", "Canvas", "Ceramic", "Cotton", "Glass", "Leather", "Linen",
    "Oak", "Steel", "Walnut", "Wool",
]  # fmt: skip
NOUNS = [
    "Backpack", "Blender", "Bookshelf", "Camera", "Chair", "Desk Lamp", "Headphones",
    "Kettle", "Lantern", "Mug", "Notebook", "Planter", "Speaker", "Tent", "Watch",
    "Water Bottle", "Yoga Mat",
]  # fmt: skip


def product_name() -> str:
    return f"{random.choice(ADJECTIVES)} {random.choice(MATERIALS)} {random.choice(NOUNS)}"


def list_price() -> Decimal:
    # Mostly everyday prices, a few expensive ones, always in cents.
    return Decimal(random.randint(99, 50_000 if random.random() < 0.9 else 500_000)) / 100


class CategoryFactory(DjangoModelFactory[Category]):
    class Meta:
        model = Category

    name = factory.Sequence(lambda n: f"{DEPARTMENTS[n % len(DEPARTMENTS)]} {n + 1}")
    slug = factory.LazyAttribute(lambda category: slugify(category.name))
    discount_percent = None

    @classmethod
    def _create(cls, model_class: type[Category], *args: Any, **kwargs: Any) -> Category:
        return services.save_category(model_class(**kwargs))


class ProductFactory(DjangoModelFactory[Product]):
    class Meta:
        model = Product

    sku = factory.Sequence(lambda n: f"SKU-{n:08d}")
    name = factory.LazyFunction(product_name)
    description = factory.LazyAttribute(
        lambda product: f"{product.name}, built to last and easy to care for."
    )
    category = factory.SubFactory(CategoryFactory)
    price = factory.LazyFunction(list_price)
    discount_percent = None
    stock = factory.LazyFunction(lambda: random.choice([0, *range(1, 200)]))

    @classmethod
    def _create(cls, model_class: type[Product], *args: Any, **kwargs: Any) -> Product:
        return services.save_product(model_class(**kwargs))
