"""The schema root: every app's queries, mutations and subscriptions merged."""

from decimal import Decimal

import strawberry
from strawberry.extensions import ValidationCache
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types

from accounts.graphql.mutations import Mutation as AccountMutation
from api.execution import ExecutionContext
from api.nodes import NodeQuery
from api.parser_cache import ParserCache
from api.scalars import DECIMAL
from products.graphql.mutations import Mutation as ProductMutation
from products.graphql.queries import Query as ProductQuery
from products.graphql.subscriptions import Subscription as ProductSubscription

Query = merge_types("Query", (NodeQuery, ProductQuery))
Mutation = merge_types("Mutation", (AccountMutation, ProductMutation))
Subscription = merge_types("Subscription", (ProductSubscription,))

schema = strawberry.Schema(
    query=Query,
    mutation=Mutation,
    subscription=Subscription,
    config=StrawberryConfig(scalar_map={Decimal: DECIMAL}),
    execution_context_class=ExecutionContext,
    # Storefronts send the same few documents over and over: each is parsed
    # and validated once, and a thousand live subscriptions of one document
    # share its syntax tree instead of holding a thousand.
    extensions=[lambda: ParserCache(maxsize=256), lambda: ValidationCache(maxsize=256)],
)
