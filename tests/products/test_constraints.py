from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from products.models import Category, Product


def _violates(**changes: object) -> None:
    product = Product.objects.first()
    assert product is not None
    with pytest.raises(IntegrityError), transaction.atomic():
        Product.objects.filter(pk=product.pk).update(**changes)


@pytest.mark.parametrize(
    "changes",
    [
        {"price": Decimal("0")},
        {"price": Decimal("-1.00")},
        {"discount_percent": Decimal("100.01")},
        {"discount_percent": Decimal("-0.01")},
        {"stock": -1},
    ],
)
def test_database_refuses_out_of_range_values(product_factory, changes: dict[str, object]) -> None:
    product_factory()
    _violates(**changes)


def test_sku_and_slug_are_unique(product_factory, category_factory) -> None:
    product = product_factory()
    with pytest.raises(IntegrityError), transaction.atomic():
        Product.objects.create(sku=product.sku, name="Twin", price=Decimal("1.00"))
    category = category_factory()
    with pytest.raises(IntegrityError), transaction.atomic():
        Category.objects.create(name="Twin", slug=category.slug)
