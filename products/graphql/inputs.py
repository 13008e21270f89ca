"""GraphQL inputs of the catalog and their translation to reader criteria."""

from decimal import Decimal
from enum import Enum

import strawberry
from django.db.models import QuerySet

from api.graphql.errors import ClientError
from api.graphql.ids import pks_of_type
from api.graphql.scalars import CENT
from api.paging.keyset import Keyset
from products import selectors
from products.models import Category, Product
from products.selectors import DecimalRange as DecimalRangeCriteria
from products.selectors import ProductCriteria, ProductOrderField

# The reader's ordering fields are exposed as they are.
strawberry.enum(ProductOrderField, name="ProductOrderField")


@strawberry.enum
class OrderDirection(Enum):
    ASC = "ASC"
    DESC = "DESC"


@strawberry.input
class DecimalRange:
    gte: Decimal | None = None
    lte: Decimal | None = None

    def to_criteria(self, name: str) -> DecimalRangeCriteria:
        return DecimalRangeCriteria(
            gte=money_bound(self.gte, f"{name}.gte"), lte=money_bound(self.lte, f"{name}.lte")
        )


WHOLE_LIMIT = Decimal(10**10)


def money_bound(value: Decimal | None, name: str) -> Decimal | None:
    """A bound on a price, which has cents and at most 10 whole digits (the
    columns' ``max_digits=12, decimal_places=2``): a bound beyond that is a
    mistake to point out, not a filter that silently matches all or nothing."""
    if value is None:
        return None
    if abs(value) >= WHOLE_LIMIT:
        raise ClientError(f"`{name}` must be below {WHOLE_LIMIT:,} (got {value}).")
    if value != value.quantize(CENT):
        raise ClientError(f"`{name}` must have at most 2 decimals (got {value}).")
    return value


@strawberry.input
class ProductFilter:
    ids: list[strawberry.ID] | None = None
    search: str | None = strawberry.field(
        default=None, description="Case-insensitive match on name or sku."
    )
    categories: list[strawberry.ID] | None = None
    price: DecimalRange | None = strawberry.field(default=None, description="On the list price.")
    discounted_price: DecimalRange | None = strawberry.field(
        default=None, description="On what the customer pays."
    )
    on_sale: bool | None = strawberry.field(default=None, description="Effective discount > 0.")
    in_stock: bool | None = strawberry.field(default=None, description="Stock > 0.")

    def to_criteria(self) -> ProductCriteria:
        # SQLite would search for it, PostgreSQL refuses it in text: refused alike.
        if self.search and "\x00" in self.search:
            raise ClientError("`search` must not contain NUL characters.")
        return ProductCriteria(
            ids=None if self.ids is None else frozenset(pks_of_type(self.ids, "Product", Product)),
            search=self.search,
            category_ids=(
                None
                if self.categories is None
                else frozenset(pks_of_type(self.categories, "Category", Category))
            ),
            price=self.price.to_criteria("price") if self.price else None,
            discounted_price=(
                self.discounted_price.to_criteria("discountedPrice")
                if self.discounted_price
                else None
            ),
            on_sale=self.on_sale,
            in_stock=self.in_stock,
        )


@strawberry.input
class ProductOrder:
    field: ProductOrderField = ProductOrderField.CREATED_AT
    direction: OrderDirection = OrderDirection.ASC

    def to_keyset(self) -> Keyset:
        return selectors.product_keyset(
            self.field, descending=self.direction is OrderDirection.DESC
        )


def criteria_of(filter: ProductFilter | None) -> ProductCriteria:
    return filter.to_criteria() if filter else ProductCriteria()


def keyset_of(order_by: ProductOrder | None) -> Keyset:
    return (order_by or ProductOrder()).to_keyset()


def matching_products(
    filter: ProductFilter | None, order_by: ProductOrder | None
) -> tuple[QuerySet[Product], Keyset]:
    """The products a connection reads, and their order."""
    return selectors.filter_products(criteria_of(filter)), keyset_of(order_by)
