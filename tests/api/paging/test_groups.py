"""``Category.products`` under a page of categories: one query for every
category's page, the same pages as each category's own connection."""

from decimal import Decimal

import pytest

from tests.conftest import GraphQL

NESTED = """query($first: Int, $last: Int, $order: ProductOrder, $filter: ProductFilter) {
  categories(first: 50) { edges { node { id
    products(first: $first, last: $last, orderBy: $order, filter: $filter) {
      edges { cursor node { id name category { id } } }
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
      totalCount } } } } }"""

ALONE = """query($id: ID!, $first: Int, $last: Int, $order: ProductOrder, $filter: ProductFilter) {
  node(id: $id) { ... on Category {
    products(first: $first, last: $last, orderBy: $order, filter: $filter) {
      edges { cursor node { id name category { id } } }
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
      totalCount } } } }"""


@pytest.fixture
def categories(category_factory, product_factory) -> list[object]:
    made = category_factory.create_batch(6)
    for i, category in enumerate(made):  # 0 to 5 products, prices with ties
        for j in range(i):
            product_factory(category=category, price=Decimal(["5.00", "7.50"][j % 2]))
    return made


PAGES = [
    {"first": 2},
    {"last": 2},
    {"first": 0},
    {},
    {"first": 3, "order": {"field": "PRICE", "direction": "DESC"}},
    {"last": 1, "order": {"field": "NAME"}, "filter": {"price": {"lte": "6.00"}}},
]


@pytest.mark.parametrize("variables", PAGES)
def test_each_categorys_page_is_its_own_connection(graphql: GraphQL, categories, variables) -> None:
    nested = graphql(NESTED, variables)["data"]["categories"]["edges"]
    assert len(nested) == len(categories)
    for edge in nested:
        alone = graphql(ALONE, {"id": edge["node"]["id"], **variables})["data"]["node"]
        assert edge["node"]["products"] == alone["products"]


def test_every_categorys_page_is_one_query(graphql: GraphQL, categories, queries) -> None:
    graphql(NESTED, {"first": 2})
    # categories, every category's products (with their category joined), their counts
    assert len(queries) == 3, queries
    assert "ROW_NUMBER" in queries[1].upper()
