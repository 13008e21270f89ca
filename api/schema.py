"""The schema root: every app's queries merged into one ``Query``."""

from decimal import Decimal

import strawberry
from strawberry.tools import merge_types

from api.nodes import NodeQuery
from api.scalars import DecimalScalar
from products.graphql.queries import Query as ProductQuery

Query = merge_types("Query", (NodeQuery, ProductQuery))

schema = strawberry.Schema(query=Query, scalar_overrides={Decimal: DecimalScalar})
