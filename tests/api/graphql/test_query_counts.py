"""A page costs a fixed number of queries, whatever its size."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.conftest import GraphQL

WITH_CATEGORIES = """query($first: Int, $after: String) {
  products(first: $first, after: $after) {
    edges { node { id name discountedPrice category { id name discountPercent } } }
    pageInfo { endCursor }
  }
}"""


def queries(graphql: GraphQL, query: str, **variables: object) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        graphql(query, variables)
    return [q["sql"] for q in captured.captured_queries]


@pytest.mark.parametrize("size", [1, 10, 60])
def test_page_with_categories_is_one_query(
    graphql: GraphQL, product_factory, category_factory, size: int
) -> None:
    categories = category_factory.create_batch(3)
    for i in range(60):
        product_factory(category=categories[i % 3])
    (sql,) = queries(graphql, WITH_CATEGORIES, first=size)
    assert "products_category" in sql  # joined, not one query per product


def test_cursors_on_both_sides_keep_the_page_to_one_query(
    graphql: GraphQL, product_factory
) -> None:
    product_factory.create_batch(30)
    query = """query($after: String, $before: String) {
      products(first: 5, after: $after, before: $before) {
        edges { node { id category { name } } } pageInfo { hasNextPage hasPreviousPage } } }"""
    cursors = [
        e["cursor"]
        for e in graphql("{ products(first: 30) { edges { cursor } } }")["data"]["products"][
            "edges"
        ]
    ]
    assert len(queries(graphql, query, after=cursors[3], before=cursors[20])) == 1
    # Only an empty page has no row to carry the probes: one more query per cursor.
    assert len(queries(graphql, query, after=cursors[3], before=cursors[4])) == 3


def test_total_count_is_counted_only_when_selected(graphql: GraphQL, product_factory) -> None:
    product_factory.create_batch(5)
    without = queries(graphql, "{ products(first: 2) { edges { node { id } } } }")
    with_count = queries(graphql, "{ products(first: 2) { totalCount edges { node { id } } } }")
    assert not any("COUNT(" in sql.upper() for sql in without)
    assert len(with_count) == len(without) + 1
    assert "COUNT(" in with_count[-1].upper()


def test_nodes_cost_one_query_per_type(graphql: GraphQL, product_factory) -> None:
    products = product_factory.create_batch(12)
    ids = [
        graphql("query($s: String) { product(sku: $s) { id } }", {"s": p.sku})["data"]["product"][
            "id"
        ]
        for p in products
    ]
    found = queries(
        graphql,
        "query($ids: [ID!]!) { nodes(ids: $ids) { id ... on Product { category { name } } } }",
        ids=ids,
    )
    assert len(found) == 1
