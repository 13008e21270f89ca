"""Writes to the catalog. Every write of a product goes through here, so that the
copied category discount and the product's ``version`` stay right, and so that
each committed change is published to live subscribers (products.events)."""

from django.db import transaction
from django.db.models import Case, DateTimeField, F, PositiveIntegerField, QuerySet, When
from django.utils import timezone

from products.events import ProductChange, publish_on_commit
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
    else:
        product.version = F("version") + 1
        product.save()
        product.refresh_from_db(fields=["version"])
    publish_on_commit([ProductChange(product.pk, product.version)])
    return product


@transaction.atomic
def add_products(products: list[Product]) -> list[Product]:
    """Inserts many new products in one statement (seeding, imports)."""
    category_ids = {product.category_id for product in products} - {None}
    discounts = dict(
        Category.objects.select_for_update()
        .filter(pk__in=category_ids)
        .values_list("id", "discount_percent")
    )
    for product in products:
        product.category_discount_percent = (
            discounts[product.category_id] if product.category_id is not None else None
        )
    created = Product.objects.bulk_create(products)
    publish_on_commit(ProductChange(product.pk, product.version) for product in created)
    return created


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


def _copy_category_discount(category: Category) -> None:
    """One UPDATE for all of the category's products. Only those that inherit the
    discount see their price change, so only they get a new version and an event."""
    inherits = When(discount_percent__isnull=True, then=F("version") + 1)
    touched = When(discount_percent__isnull=True, then=timezone.now())
    products = Product.objects.filter(category=category)
    products.update(
        category_discount_percent=category.discount_percent,
        version=Case(inherits, default=F("version"), output_field=PositiveIntegerField()),
        updated_at=Case(touched, default=F("updated_at"), output_field=DateTimeField()),
    )
    # The category's row lock keeps products from joining or leaving it until
    # commit (save_product takes the same lock), so this is what was updated.
    repriced = products.filter(discount_percent__isnull=True).values_list("id", "version")
    publish_on_commit(ProductChange(id, version) for id, version in repriced.iterator())


@transaction.atomic
def delete_product(product: Product) -> None:
    publish_on_commit([ProductChange(product.pk, None)])
    product.delete()


@transaction.atomic
def delete_products(products: QuerySet[Product]) -> None:
    """Deletes many at once (the admin's bulk action)."""
    ids = list(products.select_for_update().values_list("id", flat=True))
    Product.objects.filter(pk__in=ids).delete()
    publish_on_commit(ProductChange(id, None) for id in ids)
