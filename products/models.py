from decimal import Decimal
from typing import Any

from django.core.validators import (
    MaxValueValidator,
    MinValueValidator,
    ProhibitNullCharactersValidator,
)
from django.db import models
from django.db.models import Q
from django.db.models.functions import Now
from django.utils import timezone

from products import pricing

# PostgreSQL refuses NUL in text and SQLite stores it: refused alike, as input
# errors with the documented code INVALID.
TEXT_VALIDATORS = [ProhibitNullCharactersValidator(code="invalid")]
PERCENT_VALIDATORS = [MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))]


def optional_percent(
    help_text: str = "", *, editable: bool = True
) -> "models.DecimalField[Any, Any]":
    """A discount in percent with two decimals, 0 to 100, or none."""
    return models.DecimalField(
        max_digits=5,
        decimal_places=2,
        null=True,
        blank=True,
        validators=PERCENT_VALIDATORS,
        help_text=help_text,
        editable=editable,
    )


def percent_in_range(field: str) -> Q:
    return Q(**{f"{field}__gte": 0, f"{field}__lte": 100}) | Q(**{f"{field}__isnull": True})


class Category(models.Model):
    name = models.CharField(max_length=120, validators=TEXT_VALIDATORS)
    slug = models.SlugField(max_length=140, unique=True)
    discount_percent = optional_percent("Category-wide discount; empty for none.")

    class Meta:
        verbose_name_plural = "categories"
        ordering = ["name", "id"]
        indexes = [models.Index(fields=["name", "id"], name="category_name_id")]
        constraints = [
            models.CheckConstraint(
                condition=percent_in_range("discount_percent"),
                name="category_discount_percent_range",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Product(models.Model):
    sku = models.CharField(max_length=64, unique=True, validators=TEXT_VALIDATORS)
    name = models.CharField(max_length=200, validators=TEXT_VALIDATORS)
    description = models.TextField(
        blank=True, default="", db_default="", validators=TEXT_VALIDATORS
    )
    # PROTECT: deleting a category would silently change the price of every
    # product inheriting its discount; move its products first.
    category = models.ForeignKey(
        Category,
        on_delete=models.PROTECT,
        related_name="products",
        null=True,
        blank=True,
    )
    price = models.DecimalField(
        max_digits=12, decimal_places=2, validators=[MinValueValidator(Decimal("0.01"))]
    )
    discount_percent = optional_percent(
        "The product's own discount; overrides its category's, even when 0."
    )
    # The category's discount copied onto the row, so that the effective discount
    # and the discounted price can be generated columns (indexed, ordered and
    # filtered in SQL). Kept in step by the database's triggers (migration 0004),
    # whatever a writer sets.
    category_discount_percent = optional_percent(editable=False)
    effective_discount_percent = models.GeneratedField(
        expression=pricing.effective_discount_sql(),
        output_field=models.DecimalField(max_digits=5, decimal_places=2),
        db_persist=True,
    )
    discounted_price = models.GeneratedField(
        expression=pricing.discounted_price_sql(),
        output_field=models.DecimalField(max_digits=12, decimal_places=2),
        db_persist=True,
    )
    # The db_defaults (here and on description) let an INSERT from another
    # program leave these columns out.
    stock = models.PositiveIntegerField(default=0, db_default=0)
    # Owned by the database's triggers, like updated_at: 1 on insert, one more
    # at each change of what the product shows, whatever a writer sets
    # (migration 0004, which says where SQLite differs).
    version = models.PositiveIntegerField(default=1, db_default=1, editable=False)
    created_at = models.DateTimeField(default=timezone.now, db_default=Now(), editable=False)
    updated_at = models.DateTimeField(auto_now=True, db_default=Now())

    class Meta:
        # Every public ordering ends with the primary key, so each gets a
        # composite index that serves both directions and keyset comparisons.
        indexes = [
            models.Index(fields=["created_at", "id"], name="product_created_at_id"),
            models.Index(fields=["name", "id"], name="product_name_id"),
            models.Index(fields=["price", "id"], name="product_price_id"),
            models.Index(fields=["discounted_price", "id"], name="product_discounted_price_id"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(price__gt=0), name="product_price_positive"),
            models.CheckConstraint(
                condition=percent_in_range("discount_percent"),
                name="product_discount_percent_range",
            ),
            models.CheckConstraint(
                condition=percent_in_range("category_discount_percent"),
                name="product_category_discount_percent_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.sku} {self.name}"


# On PostgreSQL the triggers also NOTIFY this channel, with an empty payload,
# at the commit of every transaction that logged changes.
CHANGES_CHANNEL = "products_changes"


class ProductChange(models.Model):
    """One committed change of a product, written by the database's triggers
    (migration 0004) in the same transaction as the change, whoever the
    writer. Live streams tail this log (products.changes)."""

    class Kind(models.TextChoices):
        CREATED = "c"
        UPDATED = "u"
        DELETED = "d"

    position = models.BigAutoField(primary_key=True)
    # No foreign key: the log outlives the products it names.
    product_id = models.BigIntegerField()
    version = models.PositiveIntegerField(null=True)  # null: deleted
    kind = models.CharField(max_length=1, choices=Kind.choices)
    # The writing transaction (PostgreSQL's xid8; 0 on SQLite, whose writers
    # commit one at a time): a position is taken at insert, not at commit,
    # so readers also look for the rows of transactions still in flight at
    # their last read.
    transaction_id = models.BigIntegerField(db_default=0)
    # Pruning walks the log by position, so this needs no index.
    recorded_at = models.DateTimeField(db_default=Now())

    class Meta:
        indexes = [
            models.Index(
                fields=["transaction_id"],
                name="product_change_transaction",
                condition=~Q(transaction_id=0),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.position}: {self.kind} product {self.product_id} v{self.version}"


class ChangeLogHorizon(models.Model):
    """The one row saying up to which position the log has been pruned:
    a resume token from before it is expired (products.retention)."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    pruned_through = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"pruned through {self.pruned_through}"
