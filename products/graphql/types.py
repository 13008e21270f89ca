"""The catalog's GraphQL types. Resolvers only translate arguments and call the
readers in products.selectors; the pages are cut by api.paging.connection."""

from datetime import datetime
from decimal import Decimal
from typing import Any

import strawberry
import strawberry_django
from strawberry.types import Info
from strawberry_django.optimizer import optimize

from api.graphql.errors import CurrencyUnavailable
from api.graphql.fields import ColumnField
from api.graphql.incremental import streamed_subfield
from api.graphql.nodes import ModelNode
from api.graphql.scope import scoped
from api.paging.connection import Connection, PageRequest, paginate
from api.paging.groups import PagesByGroup
from products import models, pricing
from products.exchange_rates import RatesLoader, RatesUnavailable, currency_code
from products.graphql.inputs import ProductFilter, ProductOrder, matching_products


def column(**options: Any) -> Any:
    return strawberry_django.field(field_cls=ColumnField, **options)


@strawberry.type(description='An amount of money: {"amount": "17.41", "currency": "EUR"}.')
class Money:
    amount: Decimal
    currency: str = strawberry.field(description="ISO 4217 code.")


# discounted_price is always loaded: priceIn converts it, and the optimizer
# drops a field's own hints when the field is selected under several aliases
# (priceIn in two currencies).
@strawberry_django.type(
    models.Product, name="Product", field_cls=ColumnField, only=["discounted_price"]
)
class Product(ModelNode):
    sku: str
    name: str
    description: str
    category: "Category | None"
    price: Decimal = column(description="List price.")
    discount_percent: Decimal = column(
        field_name="effective_discount_percent",
        description="Effective: the product's own if set, else its category's, else 0.00.",
    )
    discounted_price: Decimal = column(
        description="price × (100 − discountPercent) / 100, rounded half-up to cents."
    )
    stock: int
    version: int = column(description="+1 on every committed change; clients dedupe by it.")
    created_at: datetime
    updated_at: datetime

    @strawberry_django.field(
        description="The discounted price in `currency` (ISO 4217), at the exchange-rates "
        "service's rate, rounded half-up to cents.",
    )
    async def price_in(self, info: Info, currency: str) -> Money | None:
        try:
            code = currency_code(currency)
            rate = await scoped(info, RatesLoader).rate(code)
        except RatesUnavailable as error:
            raise CurrencyUnavailable(str(error)) from None
        return Money(amount=pricing.converted_price(self.discounted_price, rate), currency=code)


async def resolve_products(
    root: models.Category | None,
    info: Info,
    first: int | None = None,
    after: str | None = None,
    last: int | None = None,
    before: str | None = None,
    filter: ProductFilter | None = None,
    order_by: ProductOrder | None = None,
) -> Connection[Product]:
    products, keyset = matching_products(filter, order_by)
    page = PageRequest(
        first=first,
        after=after,
        last=last,
        before=before,
        streamed=streamed_subfield(info, "edges"),
    )
    if root is not None:
        if page.streamed is None:  # one read for the pages of every category selected
            pages = scoped(info, PagesByGroup)
            return await pages.page(
                info, root.pk, optimize(products, info), keyset, page, "category"
            )
        # A streamed page is read in windows of its own.
        products = products.filter(category=root)
    return await paginate(optimize(products, info), keyset, page)


@strawberry_django.type(models.Category, name="Category", field_cls=ColumnField)
class Category(ModelNode):
    name: str
    slug: str
    discount_percent: Decimal | None
    products: Connection[Product] = strawberry.field(resolver=resolve_products)
