"""Properties of the ``products`` connection's cursors and paging, for any
input hypothesis makes up: a cursor that is not one of ours is an
``INVALID_CURSOR`` error and nothing else, and paging through any ordering,
forwards or backwards, at any page size, gives every row once, in order, with
exact ``pageInfo``."""

from typing import Any

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from strawberry.relay import to_base64

from products.models import Product
from tests.conftest import GraphQL, catalog_with_ties
from tests.properties import examples

PAGE = """query($first: Int, $after: String, $last: Int, $before: String, $orderBy: ProductOrder) {
  products(first: $first, after: $after, last: $last, before: $before, orderBy: $orderBy) {
    edges { cursor node { id } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}"""
ORDERINGS = {
    "CREATED_AT": "created_at",
    "NAME": "name",
    "PRICE": "price",
    "DISCOUNTED_PRICE": "discounted_price",
}
ORDER_BY = st.builds(
    lambda field, direction: {"field": field, "direction": direction},
    st.sampled_from(sorted(ORDERINGS)),
    st.sampled_from(["ASC", "DESC"]),
)
# NUL is left out: it is refused before any cursor is read, as a
# BAD_USER_INPUT error of its own (PostgreSQL cannot store it in text).
TEXT = st.characters(exclude_categories=["Cs"], exclude_characters="\x00")
CURSOR_LIKE = st.from_regex(r"\A[A-Za-z0-9_\-]{0,80}:[A-Za-z0-9_\-]{0,60}\Z")


@pytest.fixture
def catalog(db: None) -> list[Product]:
    return catalog_with_ties(23)


def expected(catalog: list[Product], order_by: dict[str, str]) -> list[str]:
    """The catalog in ``order_by`` order, computed here: ordering field, then
    primary key, the whole key reversed for DESC."""
    field = ORDERINGS[order_by["field"]]
    ordered = sorted(catalog, key=lambda p: (getattr(p, field), p.pk))
    if order_by["direction"] == "DESC":
        ordered.reverse()
    return [to_base64("Product", p.pk) for p in ordered]


def page(graphql: GraphQL, **variables: Any) -> dict[str, Any]:
    products: dict[str, Any] = graphql(PAGE, variables)["data"]["products"]
    return products


def only_invalid_cursor_errors(graphql: GraphQL, **variables: Any) -> None:
    body = graphql(PAGE, variables, errors=True)
    assert body["data"] is None, body
    assert [e["extensions"]["code"] for e in body["errors"]] == ["INVALID_CURSOR"], body


@examples(30)
@given(
    cursor=st.one_of(st.text(TEXT, max_size=120), CURSOR_LIKE),
    before=st.booleans(),
    order_by=ORDER_BY,
)
def test_any_text_as_a_cursor_is_invalid_cursor(graphql, catalog, cursor, before, order_by):
    variables = {"before": cursor, "last": 5} if before else {"after": cursor, "first": 5}
    only_invalid_cursor_errors(graphql, orderBy=order_by, **variables)


@pytest.fixture
def cursors(graphql: GraphQL, catalog: list[Product]) -> dict[str, list[str]]:
    """Every row's cursor in the default order and in one other."""
    orders = [{"field": "CREATED_AT", "direction": "ASC"}, {"field": "PRICE", "direction": "DESC"}]
    return {
        order["field"]: [
            edge["cursor"] for edge in page(graphql, first=100, orderBy=order)["edges"]
        ]
        for order in orders
    }


@examples(20)
@given(data=st.data(), field=st.sampled_from(["CREATED_AT", "PRICE"]), before=st.booleans())
def test_a_tampered_cursor_is_invalid_cursor(graphql, cursors, data, field, before):
    valid = data.draw(st.sampled_from(cursors[field]))
    index = data.draw(st.integers(0, len(valid) - 1))
    flipped = chr(ord(valid[index]) ^ (1 << data.draw(st.integers(0, 6))))
    assume(flipped != "\x00")
    tampered = valid[:index] + flipped + valid[index + 1 :]
    order_by = {"field": field, "direction": "ASC" if field == "CREATED_AT" else "DESC"}
    variables = {"before": tampered, "last": 5} if before else {"after": tampered, "first": 5}
    only_invalid_cursor_errors(graphql, orderBy=order_by, **variables)


@examples(12)
@given(order_by=ORDER_BY, size=st.integers(1, 25))
def test_paging_forwards_gives_every_row_in_order(graphql, catalog, order_by, size):
    rows = expected(catalog, order_by)
    seen: list[str] = []
    after = None
    while True:
        current = page(graphql, first=size, after=after, orderBy=order_by)
        ids = [edge["node"]["id"] for edge in current["edges"]]
        assert ids == rows[len(seen) : len(seen) + size]
        info = current["pageInfo"]
        assert info["hasPreviousPage"] == bool(seen)
        seen += ids
        assert info["hasNextPage"] == (len(seen) < len(rows))
        if not info["hasNextPage"]:
            break
        after = info["endCursor"]
    assert seen == rows


@examples(12)
@given(order_by=ORDER_BY, size=st.integers(1, 25))
def test_paging_backwards_gives_every_row_in_order(graphql, catalog, order_by, size):
    rows = expected(catalog, order_by)
    seen: list[str] = []
    before = None
    while True:
        current = page(graphql, last=size, before=before, orderBy=order_by)
        ids = [edge["node"]["id"] for edge in current["edges"]]
        end = len(rows) - len(seen)
        assert ids == rows[max(0, end - size) : end]
        info = current["pageInfo"]
        assert info["hasNextPage"] == bool(seen)
        seen = ids + seen
        assert info["hasPreviousPage"] == (len(seen) < len(rows))
        if not info["hasPreviousPage"]:
            break
        before = info["startCursor"]
    assert seen == rows


@examples(15)
@given(data=st.data(), order_by=ORDER_BY, size=st.integers(0, 25))
def test_a_page_between_two_cursors_holds_the_rows_between_them(
    graphql, catalog, data, order_by, size
):
    rows = expected(catalog, order_by)
    every = page(graphql, first=100, orderBy=order_by)["edges"]
    start = data.draw(st.integers(0, len(rows) - 1))
    stop = data.draw(st.integers(start, len(rows) - 1))
    between = rows[start + 1 : stop]
    last = data.draw(st.booleans())
    sizes = {"last": size} if last else {"first": size}
    current = page(
        graphql,
        after=every[start]["cursor"],
        before=every[stop]["cursor"],
        orderBy=order_by,
        **sizes,
    )
    kept = between[max(0, len(between) - size) :] if last and size else between[:size]
    assert [edge["node"]["id"] for edge in current["edges"]] == kept
    info = current["pageInfo"]
    # The cursors' own rows lie beyond either end of the page.
    assert info["hasPreviousPage"] is True
    assert info["hasNextPage"] is True
