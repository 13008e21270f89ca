"""The schema root: every app's queries merged into one ``Query``."""

from decimal import Decimal

import strawberry
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types

from api.nodes import NodeQuery
from api.scalars import DECIMAL
from products.graphql.queries import Query as ProductQuery

Query = merge_types("Query", (NodeQuery, ProductQuery))

schema = strawberry.Schema(query=Query, config=StrawberryConfig(scalar_map={Decimal: DECIMAL}))
