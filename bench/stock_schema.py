"""The baseline: the catalog's products behind stock strawberry-graphql-django
connections, with the optimizer on, as a project would get them out of the box.

``stockList`` pages by offset (``DjangoListConnection``, formerly named
``ListConnectionWithTotalCount``); ``stockCursor`` by keyset with an OR-expanded
comparison (``DjangoCursorConnection``). Both take the same ``orderBy`` input as
the project's ``products`` and order by the same field, then the primary key, in
the same direction, so the three return the same rows for the same arguments.
"""

from decimal import Decimal

import strawberry
import strawberry_django
from django.db.models import QuerySet
from strawberry import relay
from strawberry_django.optimizer import DjangoOptimizerExtension
from strawberry_django.relay import DjangoCursorConnection, DjangoListConnection

from api.schema import schema as project_schema
from products import models
from products.graphql.inputs import OrderDirection, ProductOrder


@strawberry_django.type(models.Category, name="StockCategory")
class StockCategory(relay.Node):
    name: str


@strawberry_django.type(models.Product, name="StockProduct")
class StockProduct(relay.Node):
    sku: str
    name: str
    category: StockCategory | None
    price: Decimal
    discount_percent: Decimal = strawberry_django.field(field_name="effective_discount_percent")
    discounted_price: Decimal


def ordered_products(order: ProductOrder | None) -> QuerySet[models.Product]:
    order = order or ProductOrder()
    # Both keys in the same direction, as the project's keysets: one composite
    # index then serves the whole ordering.
    sign = "-" if order.direction is OrderDirection.DESC else ""
    return models.Product.objects.order_by(f"{sign}{order.field.value}", f"{sign}id")


@strawberry.type
class Query:
    @strawberry_django.connection(DjangoListConnection[StockProduct])
    def stock_list(self, order_by: ProductOrder | None = None) -> QuerySet[models.Product]:
        return ordered_products(order_by)

    @strawberry_django.connection(DjangoCursorConnection[StockProduct])
    def stock_cursor(self, order_by: ProductOrder | None = None) -> QuerySet[models.Product]:
        return ordered_products(order_by)


# The project's configuration (its Decimal scalar among others), so that only
# the connections differ between the two schemas.
schema = strawberry.Schema(
    query=Query, extensions=[DjangoOptimizerExtension], config=project_schema.config
)
