"""Writes to the catalog. Every write of a product goes through here, so that the
copied category discount and the product's ``version`` stay right."""

from django.db import transaction
from django.db.models import Case, DateTimeField, F, PositiveIntegerField, When
from django.utils import timezone

from products.models import Category, Product


@transaction.atomic
def save_product(product: Product) -> Product:
    """Insert or update a product, raising its version when it existed."""
    # The discount is read from the row, locked, not from the in-memory category:
    # that may be stale, and a concurrent save_category (which holds the same
    # lock) would otherwise be overwritten with the old value once it commits.
    product.category_discount_percent = (
        Category.objects.select_for_update()
        .values_list("discount_percent", flat=True)
        .get(pk=product.category_id)
        if product.category_id is not None
        else None
    )
    if product._state.adding:
        product.save()
        return product
    product.version = F("version") + 1
    product.save()
    product.refresh_from_db(fields=["version"])
    return product


@transaction.atomic
def save_category(category: Category) -> Category:
    """Insert or update a category; a changed discount is copied onto its products."""
    if category._state.adding:
        category.save()
        return category
    previous = (
        Category.objects.filter(pk=category.pk)
        .values_list("discount_percent", flat=True)
        .select_for_update()
        .get()
    )
    category.save()
    if previous != category.discount_percent:
        _copy_category_discount(category)
    return category


def _copy_category_discount(category: Category) -> int:
    """One UPDATE for all of the category's products. Only those that inherit the
    discount see their price change, so only they get a new version."""
    inherits = When(discount_percent__isnull=True, then=F("version") + 1)
    touched = When(discount_percent__isnull=True, then=timezone.now())
    return Product.objects.filter(category=category).update(
        category_discount_percent=category.discount_percent,
        version=Case(inherits, default=F("version"), output_field=PositiveIntegerField()),
        updated_at=Case(touched, default=F("updated_at"), output_field=DateTimeField()),
    )


@transaction.atomic
def delete_product(product: Product) -> None:
    product.delete()
