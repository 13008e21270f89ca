"""Every bad input of the contract: a GraphQL error that says what is wrong,
with HTTP 200, never a server error."""

import base64
import json
from typing import Any

import pytest
from strawberry.relay import to_base64

from api.paging.cursors import encode_cursor
from tests.conftest import GraphQL

QUERY = """
query($first: Int, $after: String, $last: Int, $before: String,
      $filter: ProductFilter, $orderBy: ProductOrder) {
  products(first: $first, after: $after, last: $last, before: $before,
           filter: $filter, orderBy: $orderBy) {
    edges { cursor }
  }
}
"""


def error(graphql: GraphQL, query: str = QUERY, **variables: Any) -> dict[str, Any]:
    body = graphql(query, variables, errors=True)
    (first, *_) = body["errors"]
    return first


@pytest.fixture
def a_cursor(graphql: GraphQL, product_factory) -> str:
    product_factory.create_batch(3)
    cursor: str = graphql(QUERY, {"first": 1, "orderBy": {"field": "PRICE"}})["data"]["products"][
        "edges"
    ][0]["cursor"]
    return cursor


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({"first": 101}, "`first` must be at most 100"),
        ({"last": 101}, "`last` must be at most 100"),
        ({"first": -1}, "`first` must not be negative"),
        ({"last": -5}, "`last` must not be negative"),
        ({"first": 1, "last": 1}, "not both"),
        ({"after": "garbage"}, "Invalid cursor"),
        ({"before": "bm90IGEgY3Vyc29y"}, "Invalid cursor"),
        ({"after": ""}, "Cursor is empty"),
    ],
)
def test_page_arguments(
    graphql: GraphQL, db: None, variables: dict[str, Any], message: str
) -> None:
    assert message in error(graphql, **variables)["message"]


def test_tampered_cursor(graphql: GraphQL, a_cursor: str) -> None:
    payload, signature = a_cursor.split(":")
    flipped = signature[:-1] + ("A" if signature[-1] != "A" else "B")
    assert (
        "Invalid cursor"
        in error(graphql, after=f"{payload}:{flipped}", orderBy={"field": "PRICE"})["message"]
    )

    values = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    values[2][0] = "0.01"  # move the position, keep the old signature
    forged = base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")
    assert (
        "Invalid cursor"
        in error(graphql, after=f"{forged}:{signature}", orderBy={"field": "PRICE"})["message"]
    )


def test_cursor_from_another_ordering(graphql: GraphQL, a_cursor: str) -> None:
    found = error(graphql, after=a_cursor, orderBy={"field": "PRICE", "direction": "DESC"})
    assert "made for orderBy PRICE ASC, not PRICE DESC" in found["message"]
    assert found["extensions"]["code"] == "INVALID_CURSOR"
    assert "made for orderBy PRICE ASC" in error(graphql, before=a_cursor)["message"]


def test_signed_cursor_with_values_of_the_wrong_type(graphql: GraphQL, db: None) -> None:
    cursor = encode_cursor("PRICE ASC", ["not a price", 1])
    assert (
        "do not fit this ordering"
        in error(graphql, after=cursor, orderBy={"field": "PRICE"})["message"]
    )
    short = encode_cursor("PRICE ASC", ["1.00"])
    assert (
        "does not match this ordering"
        in error(graphql, after=short, orderBy={"field": "PRICE"})["message"]
    )


@pytest.mark.parametrize(
    ("query", "variables"),
    [
        ("query($id: ID!) { node(id: $id) { id } }", {"id": "%%%"}),
        ("query($id: ID!) { node(id: $id) { id } }", {"id": to_base64("Product", "abc")}),
        ("query($ids: [ID!]!) { nodes(ids: $ids) { id } }", {"ids": ["bm9wZQ=="]}),
        ("query($id: ID) { product(id: $id) { id } }", {"id": "not-an-id"}),
        (QUERY, {"filter": {"ids": ["garbage"]}}),
        (QUERY, {"filter": {"categories": [to_base64("Category", "x")]}}),
    ],
)
def test_malformed_global_ids(
    graphql: GraphQL, db: None, query: str, variables: dict[str, Any]
) -> None:
    found = error(graphql, query, **variables)
    assert "is not a valid" in found["message"]
    assert found["extensions"]["code"] == "INVALID_ID"


@pytest.mark.parametrize("value", ["abc", "", "1e", "NaN", "Infinity", 1.5, True])
def test_bad_decimal_in_variables(graphql: GraphQL, db: None, value: object) -> None:
    found = error(graphql, filter={"price": {"gte": value}})
    assert "Decimal" in found["message"]


def test_bad_decimal_literal(graphql: GraphQL, db: None) -> None:
    found = error(graphql, '{ products(filter: {price: {lte: "ten"}}) { edges { cursor } } }')
    assert "not a valid Decimal" in found["message"]


def test_product_needs_exactly_one_key(graphql: GraphQL, db: None) -> None:
    assert "exactly one" in error(graphql, "{ product { id } }")["message"]
    assert (
        "exactly one"
        in error(graphql, '{ product(id: "UHJvZHVjdDox", sku: "x") { id } }')["message"]
    )


def test_unknown_ordering_field_is_a_validation_error(graphql: GraphQL, db: None) -> None:
    assert "ProductOrderField" in error(graphql, orderBy={"field": "STOCK"})["message"]
