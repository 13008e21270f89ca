"""What documents cost, computed before they run, and the refusal of those
over GRAPHQL_MAX_COST before any database work."""

from typing import Any

import pytest
from django.conf import settings
from graphql import parse

from api.graphql.cost import CostCache, operation_cost
from api.schema import schema
from tests.api.graphql.storefront import COSTS, STOREFRONT
from tests.conftest import GraphQL
from tests.graphql_ws import PROTOCOLS, graphql_websocket

IDS = ["UHJvZHVjdDox", "UHJvZHVjdDoy", "UHJvZHVjdDoz"]

# (document, variables, cost)
TABLE: list[tuple[str, dict[str, Any], int]] = [
    ("{ __typename }", {}, 0),
    ("{ products { totalCount } }", {}, 1),
    # the default page: 20 edges, 20 nodes
    ("{ products { edges { node { id } } } }", {}, 1 + 20 + 20),
    (
        "{ products(first: 10) { edges { node { id category { name } } } pageInfo { hasNextPage } } }",
        {},
        1 + 10 + 10 + 10 + 1,
    ),
    ("{ products(last: 5) { edges { cursor } } }", {}, 1 + 5),
    ("{ products(first: 0) { edges { node { id } } } }", {}, 1),
    ("query($n: Int) { products(first: $n) { edges { node { id } } } }", {"n": 7}, 1 + 7 + 7),
    ("query($n: Int = 3) { products(first: $n) { edges { node { id } } } }", {}, 1 + 3 + 3),
    # aliases count for each, fragments where they are spread
    (
        """{ a: products(first: 2) { ...P } b: products(first: 3) { ...P } }
        fragment P on ProductConnection { edges { node { id category { id } } } }""",
        {},
        (1 + 2 * 3) + (1 + 3 * 3),
    ),
    (
        """{ products(first: 4) { edges { node { ... on Product { category { name } } } } } }""",
        {},
        1 + 4 + 4 + 4,
    ),
    # nested connections multiply
    (
        """{ products(first: 100) { edges { node { category {
          products(first: 100) { edges { node { id } } } } } } } }""",
        {},
        1 + 100 + 100 + 100 + 100 * (1 + 100 + 100),
    ),
    (
        """{ categories(first: 5) { edges { node { products { edges { node { id } } } } } } }""",
        {},
        1 + 5 + 5 + 5 * (1 + 20 + 20),
    ),
    # nodes(ids:) by the number of ids
    (
        "query($ids: [ID!]!) { nodes(ids: $ids) { id ... on Product { category { id } } } }",
        {"ids": IDS},
        3 + 3,
    ),
    ('{ node(id: "UHJvZHVjdDox") { id } }', {}, 1),
    # @include / @skip
    (
        "query($on: Boolean!) { products @include(if: $on) { edges { node { id } } } }",
        {"on": False},
        0,
    ),
    (
        "query($on: Boolean!) { products(first: 2) @skip(if: $on) { edges { node { id } } } }",
        {"on": False},
        1 + 2 + 2,
    ),
    # streams: one batch of batchSize (the default 100)
    ("subscription { productStream { sequence products { id } } }", {}, 1 + 100),
    (
        "subscription { productStream(batchSize: 10) { products { id category { id } } } }",
        {},
        1 + 10 + 10,
    ),
    ("mutation { logout }", {}, 0),
    (
        """mutation { createCategory(name: "x") { category { id } errors { code } } }""",
        {},
        1 + 1 + 1,
    ),
]


@pytest.mark.parametrize(("document", "variables", "cost"), TABLE)
def test_cost_table(document: str, variables: dict[str, Any], cost: int) -> None:
    assert operation_cost(schema._schema, parse(document), None, variables) == cost


@pytest.mark.django_db
def test_every_response_carries_its_cost(graphql: GraphQL) -> None:
    body = graphql("{ products(first: 3) { edges { node { id } } } }")
    assert body["extensions"]["cost"] == {"requested": 7, "limit": settings.GRAPHQL_MAX_COST}
    # a document that does not parse ran nothing: it cost nothing
    body = graphql("{ products(", errors=True)
    assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_PARSE_FAILED"
    assert body["extensions"]["cost"] == {"requested": 0, "limit": settings.GRAPHQL_MAX_COST}


TOO_COMPLEX = """{ products(first: 100) { edges { node { category {
  products(first: 100) { edges { node { id } } } } } } } }"""


@pytest.mark.django_db
def test_too_complex_is_refused_before_any_query(graphql: GraphQL, queries: list[str]) -> None:
    body = graphql(TOO_COMPLEX, errors=True)
    assert queries == []
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "QUERY_TOO_COMPLEX"
    limit = settings.GRAPHQL_MAX_COST
    assert "20401" in error["message"]
    assert str(limit) in error["message"]
    assert error["extensions"]["cost"] == {"requested": 20401, "limit": limit}
    assert body["data"] is None
    assert body["extensions"]["cost"] == {"requested": 20401, "limit": limit}


@pytest.mark.django_db
def test_the_limit_is_a_setting(graphql: GraphQL, settings: Any) -> None:
    settings.GRAPHQL_MAX_COST = 40
    graphql("{ products(first: 19) { edges { node { id } } } }")
    body = graphql("{ products(first: 20) { edges { node { id } } } }", errors=True)
    assert body["errors"][0]["extensions"]["code"] == "QUERY_TOO_COMPLEX"


@pytest.mark.django_db
def test_cost_analysis_can_be_switched_off(graphql: GraphQL, settings: Any) -> None:
    settings.GRAPHQL_COST_ANALYSIS = False
    body = graphql(TOO_COMPLEX)
    assert "cost" not in body.get("extensions", {})


@pytest.mark.parametrize("name", STOREFRONT)
def test_storefront_documents_fit_the_default_limit(name: str) -> None:
    cart = {"ids": [IDS[0]] * 20}
    cost = operation_cost(schema._schema, parse(STOREFRONT[name]), None, cart)
    assert cost == COSTS[name]
    assert cost <= settings.GRAPHQL_MAX_COST


@pytest.mark.django_db
@pytest.mark.parametrize("name", [name for name in STOREFRONT if name != "live catalog"])
def test_storefront_queries_run(
    graphql: GraphQL, product_factory, rates_server, settings: Any, name: str
) -> None:
    settings.EXCHANGE_RATES_TIMEOUT = 10  # the rates are not what this tests
    product = product_factory()
    body = graphql(STOREFRONT[name], {"sku": product.sku, "ids": IDS})
    assert body["extensions"]["cost"]["requested"] <= settings.GRAPHQL_MAX_COST


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_websocket_operations_are_costed_and_refused(
    uvicorn_server: str, protocol: str
) -> None:
    stream = "subscription { productStream(batchSize: 5) { snapshotComplete products { id } } }"
    too_big = """subscription { productStream(batchSize: 1000) { products { category {
        products(first: 100) { edges { node { id } } } } } } }"""
    async with graphql_websocket(uvicorn_server, protocol) as ws:
        (last, *_) = reversed(await ws.collect(stream))
        assert last["data"]["productStream"]["snapshotComplete"] is True
        assert last["extensions"]["cost"]["requested"] == 6
        (refused,) = await ws.collect(too_big)
        (error,) = refused["errors"]
        assert error["extensions"]["code"] == "QUERY_TOO_COMPLEX"
        assert error["extensions"]["cost"]["requested"] == 1 + 1000 + 1000 + 1000 * 201


def test_cached_costs_follow_the_variables_they_read() -> None:
    cache = CostCache(maxsize=4)
    query = """query($n: Int, $after: String, $on: Boolean = true) {
      products(first: $n, after: $after) @include(if: $on) { edges { node { id } } } }"""
    document = parse(query)

    def cost(**variables: Any) -> int:
        return cache.cost(schema._schema, query, document, None, variables)

    assert cost(n=5) == 11
    assert cost(n=5, after="abc") == 11
    assert cost(n=6) == 13
    assert cost() == 41
    assert cost(n=None) == 41
    assert cost(n=5, on=False) == 0
