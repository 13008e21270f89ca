"""The products connection against the Relay Cursor Connections spec and the
contract's additions, on whatever database the suite runs on."""

from decimal import Decimal
from typing import Any

import pytest
from strawberry.relay import to_base64

from products.models import Product
from tests.conftest import GraphQL, catalog_with_ties

PAGE = """
query Page($first: Int, $after: String, $last: Int, $before: String,
           $filter: ProductFilter, $orderBy: ProductOrder) {
  products(first: $first, after: $after, last: $last, before: $before,
           filter: $filter, orderBy: $orderBy) {
    edges { cursor node { id sku } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}
"""

SORT_KEYS = {
    "CREATED_AT": lambda p: (p.created_at, p.pk),
    "NAME": lambda p: (p.name, p.pk),
    "PRICE": lambda p: (p.price, p.pk),
    "DISCOUNTED_PRICE": lambda p: (p.discounted_price, p.pk),
}


def gid(product: Product) -> str:
    return to_base64("Product", product.pk)


@pytest.fixture
def catalog(db: None) -> list[Product]:
    return catalog_with_ties(23)


def page(graphql: GraphQL, **variables: Any) -> dict[str, Any]:
    return graphql(PAGE, variables)["data"]["products"]


def ids(connection: dict[str, Any]) -> list[str]:
    return [edge["node"]["id"] for edge in connection["edges"]]


def walk_forward(graphql: GraphQL, size: int, **variables: Any) -> list[str]:
    seen: list[str] = []
    after = None
    while True:
        result = page(graphql, first=size, after=after, **variables)
        seen += ids(result)
        assert result["pageInfo"]["hasPreviousPage"] is (after is not None)
        if not result["pageInfo"]["hasNextPage"]:
            return seen
        after = result["pageInfo"]["endCursor"]


def walk_backward(graphql: GraphQL, size: int, **variables: Any) -> list[str]:
    seen: list[str] = []
    before = None
    while True:
        result = page(graphql, last=size, before=before, **variables)
        seen = ids(result) + seen
        assert result["pageInfo"]["hasNextPage"] is (before is not None)
        if not result["pageInfo"]["hasPreviousPage"]:
            return seen
        before = result["pageInfo"]["startCursor"]


@pytest.mark.parametrize("field", list(SORT_KEYS))
@pytest.mark.parametrize("direction", ["ASC", "DESC"])
def test_every_ordering_pages_through_all_rows_both_ways(
    graphql, catalog, field, direction
) -> None:
    expected = [gid(p) for p in sorted(catalog, key=SORT_KEYS[field], reverse=direction == "DESC")]
    order = {"field": field, "direction": direction}
    assert walk_forward(graphql, 5, orderBy=order) == expected
    assert walk_backward(graphql, 5, orderBy=order) == expected


def test_default_order_is_created_at_then_id_and_default_size_is_20(graphql, catalog) -> None:
    result = page(graphql)
    expected = [gid(p) for p in sorted(catalog, key=SORT_KEYS["CREATED_AT"])]
    assert ids(result) == expected[:20]
    assert result["pageInfo"]["hasNextPage"] is True
    assert result["pageInfo"]["hasPreviousPage"] is False


def test_empty_set(graphql, db) -> None:
    for variables in ({}, {"first": 5}, {"last": 5}, {"first": 0}):
        result = page(graphql, **variables)
        assert result["edges"] == []
        assert result["pageInfo"] == {
            "hasNextPage": False,
            "hasPreviousPage": False,
            "startCursor": None,
            "endCursor": None,
        }


def test_exactly_one_page(graphql, product_factory) -> None:
    product_factory.create_batch(5)
    forward = page(graphql, first=5)
    assert len(forward["edges"]) == 5
    assert not forward["pageInfo"]["hasNextPage"]
    assert not forward["pageInfo"]["hasPreviousPage"]
    backward = page(graphql, last=5)
    assert ids(backward) == ids(forward)
    assert not backward["pageInfo"]["hasNextPage"]
    assert not backward["pageInfo"]["hasPreviousPage"]


def test_zero_rows_asked_is_no_edges_with_exact_page_info(graphql, catalog) -> None:
    first = page(graphql, first=0)
    assert first["edges"] == []
    assert first["pageInfo"]["hasNextPage"] is True
    assert first["pageInfo"]["hasPreviousPage"] is False
    last = page(graphql, last=0)
    assert last["edges"] == []
    assert last["pageInfo"]["hasPreviousPage"] is True
    assert last["pageInfo"]["hasNextPage"] is False


def test_page_info_is_exact_from_the_middle_in_both_directions(graphql, catalog) -> None:
    middle = page(graphql, first=10)["pageInfo"]["endCursor"]
    forward = page(graphql, first=5, after=middle)
    assert forward["pageInfo"]["hasPreviousPage"] is True
    assert forward["pageInfo"]["hasNextPage"] is True
    backward = page(graphql, last=5, before=middle)
    assert backward["pageInfo"]["hasNextPage"] is True
    assert backward["pageInfo"]["hasPreviousPage"] is True
    assert ids(backward) == ids(page(graphql, first=10))[4:9]

    # A window between two cursors: rows exist outside it on both sides.
    start = page(graphql, first=3)["pageInfo"]["endCursor"]
    between = page(graphql, first=20, after=start, before=middle)
    assert len(between["edges"]) == 6
    assert between["pageInfo"]["hasNextPage"] is True
    assert between["pageInfo"]["hasPreviousPage"] is True

    last_page = page(graphql, first=100, after=middle)
    assert last_page["pageInfo"]["hasNextPage"] is False


TOTAL = """query($filter: ProductFilter) { products(first: 1, filter: $filter) { totalCount } }"""


def total(graphql: GraphQL, **filter: Any) -> int:
    count: int = graphql(TOTAL, {"filter": filter})["data"]["products"]["totalCount"]
    return count


def test_every_filter_and_the_total_count(graphql, catalog, category_factory) -> None:
    assert total(graphql) == 23
    by = {
        "search": lambda p: "am" in p.name.lower() or "am" in p.sku.lower(),
        "price": lambda p: Decimal("9.99") <= p.price <= Decimal("10.00"),
        "discountedPrice": lambda p: p.discounted_price <= Decimal("9.00"),
        "onSale": lambda p: p.effective_discount_percent > 0,
        "notOnSale": lambda p: p.effective_discount_percent == 0,
        "inStock": lambda p: p.stock > 0,
        "outOfStock": lambda p: p.stock == 0,
    }
    assert total(graphql, search="AM") == sum(map(by["search"], catalog))
    assert total(graphql, price={"gte": "9.99", "lte": "10.00"}) == sum(map(by["price"], catalog))
    assert total(graphql, discountedPrice={"lte": "9.00"}) == sum(
        map(by["discountedPrice"], catalog)
    )
    assert total(graphql, onSale=True) == sum(map(by["onSale"], catalog))
    assert total(graphql, onSale=False) == sum(map(by["notOnSale"], catalog))
    assert total(graphql, inStock=True) == sum(map(by["inStock"], catalog))
    assert total(graphql, inStock=False) == sum(map(by["outOfStock"], catalog))
    assert total(graphql, search=catalog[3].sku) == 1

    chosen = catalog[:4]
    assert total(graphql, ids=[gid(p) for p in chosen]) == 4
    assert total(graphql, ids=[]) == 0
    assert total(graphql, ids=[to_base64("Product", 10**9)]) == 0
    assert total(graphql, ids=[to_base64("Category", chosen[0].pk)]) == 0

    category = catalog[1].category
    assert category is not None
    in_category = sum(p.category_id == category.pk for p in catalog)
    assert total(graphql, categories=[to_base64("Category", category.pk)]) == in_category
    assert total(graphql, categories=[to_base64("Category", category_factory().pk)]) == 0
    assert total(graphql, categories=[]) == 0

    combined = [p for p in catalog if by["onSale"](p) and by["inStock"](p) and by["price"](p)]
    result = page(
        graphql,
        first=100,
        filter={"onSale": True, "inStock": True, "price": {"gte": "9.99", "lte": "10"}},
    )
    assert ids(result) == [gid(p) for p in sorted(combined, key=SORT_KEYS["CREATED_AT"])]


def test_filtered_pages_walk_only_matching_rows(graphql, catalog) -> None:
    matching = sorted((p for p in catalog if p.stock > 0), key=SORT_KEYS["PRICE"], reverse=True)
    order = {"field": "PRICE", "direction": "DESC"}
    assert walk_forward(graphql, 4, filter={"inStock": True}, orderBy=order) == [
        gid(p) for p in matching
    ]


def test_category_products_is_the_same_connection(graphql, catalog) -> None:
    category = catalog[1].category
    assert category is not None
    query = """query($id: ID!) { node(id: $id) { ... on Category {
        products(first: 100, orderBy: {field: PRICE}) { totalCount edges { node { id } } } } } }"""
    result = graphql(query, {"id": to_base64("Category", category.pk)})["data"]["node"]["products"]
    mine = sorted((p for p in catalog if p.category_id == category.pk), key=SORT_KEYS["PRICE"])
    assert [e["node"]["id"] for e in result["edges"]] == [gid(p) for p in mine]
    assert result["totalCount"] == len(mine)


def test_categories_are_ordered_by_name_then_id(graphql, category_factory) -> None:
    made = [category_factory(name=name, slug=f"s{i}") for i, name in enumerate("baca")]
    query = """query($after: String) { categories(first: 2, after: $after) {
        totalCount edges { node { id name } } pageInfo { hasNextPage endCursor } } }"""
    first = graphql(query)["data"]["categories"]
    second = graphql(query, {"after": first["pageInfo"]["endCursor"]})["data"]["categories"]
    names = [e["node"]["name"] for e in first["edges"] + second["edges"]]
    assert names == ["a", "a", "b", "c"]
    a_ids = sorted(c.pk for c in made if c.name == "a")
    assert first["edges"][0]["node"]["id"] == to_base64("Category", a_ids[0])
    assert first["totalCount"] == 4
    assert second["pageInfo"]["hasNextPage"] is False


def test_node_and_nodes_round_trip(graphql, catalog) -> None:
    product = catalog[0]
    category = product.category
    assert category is not None
    query = """query($id: ID!, $ids: [ID!]!) {
        node(id: $id) { id ... on Product { sku discountedPrice } }
        nodes(ids: $ids) { __typename id } }"""
    missing = to_base64("Product", 10**9)
    data = graphql(
        query,
        {"id": gid(product), "ids": [to_base64("Category", category.pk), missing, gid(product)]},
    )["data"]
    assert data["node"] == {
        "id": gid(product),
        "sku": product.sku,
        "discountedPrice": f"{product.discounted_price:.2f}",
    }
    assert data["nodes"] == [
        {"__typename": "Category", "id": to_base64("Category", category.pk)},
        None,
        {"__typename": "Product", "id": gid(product)},
    ]
    assert (
        graphql("query($id: ID!) { node(id: $id) { id } }", {"id": missing})["data"]["node"] is None
    )


def test_product_by_id_or_sku(graphql, catalog) -> None:
    product = catalog[5]
    query = "query($id: ID, $sku: String) { product(id: $id, sku: $sku) { id sku } }"
    assert graphql(query, {"id": gid(product)})["data"]["product"]["sku"] == product.sku
    assert graphql(query, {"sku": product.sku})["data"]["product"]["id"] == gid(product)
    assert graphql(query, {"sku": "nope"})["data"]["product"] is None
    assert graphql(query, {"id": to_base64("Product", 10**9)})["data"]["product"] is None
