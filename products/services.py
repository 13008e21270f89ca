"""Writes to the catalog. The database keeps a product's copied category
discount, its version and updated_at, and logs each change (migration 0004),
whoever writes; these functions validate, write, and read back what the
database decided. On SQLite, whose triggers cannot notify, they wake this
process's live streams once they commit (products.changes)."""

from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from itertools import chain, count
from typing import TypedDict

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.text import slugify

from products.changes import wake_on_commit
from products.models import Category, Product

# What the database sets on a product row, whatever the write said.
DATABASE_OWNED = [
    "version",
    "updated_at",
    "category_discount_percent",
    "effective_discount_percent",
    "discounted_price",
]


@transaction.atomic
def save_product(product: Product) -> Product:
    """Insert or update a product, with the values the database gave it."""
    product.save()
    # In the same transaction: the row is still this write's.
    product.refresh_from_db(fields=DATABASE_OWNED)
    wake_on_commit()
    return product


@transaction.atomic
def add_products(products: list[Product]) -> None:
    """Inserts many new products in one statement (seeding, imports). The
    database derives what it owns (the copied discount, the prices); they
    are not read back, which would cost a seed of a million products a read
    of a million rows."""
    Product.objects.bulk_create(products)
    wake_on_commit()


def save_category(category: Category) -> Category:
    """Insert or update a category; the database reprices the products that
    inherit a changed discount."""
    category.save()
    wake_on_commit()
    return category


def delete_product(product: Product) -> None:
    product.delete()
    wake_on_commit()


# The services below are what the GraphQL mutations call: each validates
# with Django (full_clean: field validators and constraints), raises a
# ValidationError whose codes the API shows, and writes through the
# functions above in one transaction.

SLUG_ATTEMPTS = 3
# Room for a "-N" suffix within the slug's 140 characters.
SLUG_BASE_LENGTH = 120


class ProductFields(TypedDict, total=False):
    """Fields of a product as a write gives them; a key left out is not given.
    ``category_id`` None: no category; ``discount_percent`` None: inherit the
    category's; ``description`` None: none."""

    sku: str
    name: str | None
    description: str | None
    category_id: int | None
    price: Decimal | None
    discount_percent: Decimal | None
    stock: int | None


_ASSIGNABLE = ["sku", "name", "description", "category_id", "price", "discount_percent", "stock"]


def create_product(fields: ProductFields) -> Product:
    with _sku_taken_is_invalid(fields.get("sku")), transaction.atomic():
        product = Product()
        _assign(product, fields)
        save_product(product)
        return _product(product.pk)


def update_product(
    product_id: int, changes: ProductFields, *, expected_version: int | None = None
) -> Product:
    """Changes only the fields given. A stale ``expected_version`` is a
    conflict, decided under the row's lock, so no write slips in between."""
    with _sku_taken_is_invalid(changes.get("sku")), transaction.atomic():
        product = _locked_product(product_id)
        if expected_version is not None and product.version != expected_version:
            raise ValidationError(
                {
                    "expected_version": ValidationError(
                        f"The product has changed: its version is {product.version}, "
                        f"not {expected_version}.",
                        code="conflict",
                    )
                }
            )
        if _assign(product, changes):
            save_product(product)
        return _product(product.pk)


@transaction.atomic
def delete_product_by_id(product_id: int) -> None:
    delete_product(_locked_product(product_id))


def create_category(name: str, discount_percent: Decimal | None = None) -> Category:
    """A new category, its slug made from its name and unique (``tools``, ``tools-2``…)."""
    category = Category(name=name, discount_percent=discount_percent)
    attempts_left = SLUG_ATTEMPTS
    while True:
        try:
            with transaction.atomic():
                category.slug = _free_slug(name)
                # The slug is ours, not the client's: the database keeps it unique.
                category.full_clean(exclude=["slug"])
                return save_category(category)
        except IntegrityError:
            # Another category took the slug after it was found free.
            attempts_left -= 1
            if not attempts_left:
                raise


@transaction.atomic
def set_category_discount(category_id: int, percent: Decimal | None) -> Category:
    """None: no category-wide discount. Every product inheriting the discount
    gets the new one, and a new version, in the same transaction."""
    category = _category(category_id)
    category.discount_percent = percent
    category.full_clean()
    save_category(category)
    return Category.objects.get(pk=category.pk)


def _assign(product: Product, fields: ProductFields) -> bool:
    """Sets ``fields`` on ``product`` and validates it; whether anything changed."""
    before = {name: getattr(product, name) for name in _ASSIGNABLE}
    errors: dict[str, list[ValidationError]] = {}
    for name, value in fields.items():
        if name not in ("category_id", "description"):
            setattr(product, name, value)
    if "description" in fields:
        product.description = fields["description"] or ""
    if "category_id" in fields:
        category_id = fields["category_id"]
        try:
            product.category = None if category_id is None else _category(category_id)
        except ValidationError as error:
            errors = error.update_error_dict(errors)
    try:
        product.full_clean(exclude=list(errors))
    except ValidationError as error:
        errors = error.update_error_dict(errors)
    if errors:
        raise ValidationError(errors)
    return product._state.adding or any(
        getattr(product, name) != value for name, value in before.items()
    )


def _category(category_id: int) -> Category:
    try:
        return Category.objects.get(pk=category_id)
    except Category.DoesNotExist:
        raise ValidationError(
            {"category": ValidationError("No category has this ID.", code="not_found")}
        ) from None


def _locked_product(product_id: int) -> Product:
    try:
        return Product.objects.select_for_update().get(pk=product_id)
    except Product.DoesNotExist:
        raise ValidationError(
            {"product": ValidationError("No product has this ID.", code="not_found")}
        ) from None


def _product(product_id: int) -> Product:
    """The product as written, with the columns the database generated."""
    return Product.objects.select_related("category").get(pk=product_id)


def _free_slug(name: str) -> str:
    base = slugify(name)[:SLUG_BASE_LENGTH] or "category"
    taken = set(Category.objects.filter(slug__startswith=base).values_list("slug", flat=True))
    return next(
        slug for slug in chain([base], (f"{base}-{n}" for n in count(2))) if slug not in taken
    )


@contextmanager
def _sku_taken_is_invalid(sku: str | None) -> Iterator[None]:
    """full_clean finds a taken SKU; a product inserted with the same SKU
    between that check and the write makes the database refuse it instead."""
    try:
        yield
    except IntegrityError:
        if sku is None or not Product.objects.filter(sku=sku).exists():
            raise
        raise ValidationError(
            {"sku": ValidationError("Product with this Sku already exists.", code="unique")}
        ) from None
