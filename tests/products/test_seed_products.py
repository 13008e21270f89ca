from io import StringIO

import pytest
from django.core.management import call_command

from products.models import Category, Product, ProductChange


def seed(*args: str) -> str:
    out = StringIO()
    call_command("seed_products", *args, "--no-progress", stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_seeds_products_and_categories_in_bulk() -> None:
    assert "Added 1200 products" in seed("--count", "1200", "--categories", "4", "--seed", "3")
    assert Category.objects.count() == 4
    assert Product.objects.count() == 1200
    assert not Product.objects.filter(category__isnull=True).exists()
    # The copied category discount agrees with the category.
    for category in Category.objects.all():
        assert (
            not Product.objects.filter(category=category)
            .exclude(category_discount_percent=category.discount_percent)
            .exclude(
                category_discount_percent__isnull=True, category__discount_percent__isnull=True
            )
            .exists()
        )
    assert Product.objects.filter(effective_discount_percent__gt=0).exists()
    # The bulk insert is captured like any write: version 1, one entry each.
    assert set(Product.objects.values_list("version", flat=True)) == {1}
    changes = ProductChange.objects.values_list("product_id", "version", "kind")
    assert sorted(changes) == [
        (id, 1, "c") for id in Product.objects.order_by("id").values_list("id", flat=True)
    ]


@pytest.mark.django_db
def test_seeding_again_adds_more_with_fresh_skus() -> None:
    seed("--count", "50")
    seed("--count", "50")
    assert Product.objects.count() == 100
    assert Product.objects.values("sku").distinct().count() == 100
    assert Category.objects.count() == 20  # made on the first run only


@pytest.mark.django_db
def test_if_empty_leaves_a_seeded_catalog_alone() -> None:
    seed("--count", "10", "--if-empty")
    assert "nothing added" in seed("--count", "10", "--if-empty")
    assert Product.objects.count() == 10
