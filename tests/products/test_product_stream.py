"""``productStream`` snapshots over a real websocket to a real uvicorn, over
both subprotocols, on whatever database the suite runs on."""

from decimal import Decimal
from typing import Any

import httpx
import pytest
from strawberry.relay import to_base64

from products.models import Product
from tests.conftest import catalog_with_ties
from tests.graphql_ws import PROTOCOLS, graphql_websocket

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.parametrize("protocol", PROTOCOLS),
]

STREAM = """
subscription Stream($filter: ProductFilter, $orderBy: ProductOrder, $after: String,
                    $batchSize: Int) {
  productStream(filter: $filter, orderBy: $orderBy, after: $after, batchSize: $batchSize) {
    phase sequence cursor snapshotComplete removedIds
    products { id sku price discountPercent discountedPrice version category { id name } }
  }
}
"""

ORDERINGS = {
    "CREATED_AT": ("created_at", "id"),
    "NAME": ("name", "id"),
    "PRICE": ("price", "id"),
    "DISCOUNTED_PRICE": ("discounted_price", "id"),
}


def gid(type_name: str, pk: int) -> str:
    return to_base64(type_name, pk)


@pytest.fixture
def catalog(transactional_db: None) -> list[Product]:
    return catalog_with_ties(41)


async def stream(base_url: str, protocol: str, **variables: Any) -> list[dict[str, Any]]:
    """The batches of one productStream; fails on errors."""
    async with graphql_websocket(base_url, protocol) as socket:
        payloads = await socket.collect(STREAM, variables)
    for payload in payloads:
        assert "errors" not in payload, payload["errors"]
    return [payload["data"]["productStream"] for payload in payloads]


async def stream_error(base_url: str, protocol: str, **variables: Any) -> dict[str, Any]:
    async with graphql_websocket(base_url, protocol) as socket:
        payloads = await socket.collect(STREAM, variables)
    assert len(payloads) == 1, payloads
    (error,) = payloads[0]["errors"]
    assert not payloads[0].get("data"), payloads
    return error


def streamed_ids(batches: list[dict[str, Any]]) -> list[str]:
    return [product["id"] for batch in batches for product in batch["products"]]


def expected_ids(products: list[Product], field: str, descending: bool = False) -> list[str]:
    ordered = sorted(products, key=lambda p: tuple(getattr(p, f) for f in ORDERINGS[field]))
    if descending:
        ordered.reverse()
    return [gid("Product", p.pk) for p in ordered]


async def test_streams_every_product_in_every_order(uvicorn_server, protocol, catalog):
    for field in ORDERINGS:
        for direction in ("ASC", "DESC"):
            order = {"field": field, "direction": direction}
            batches = await stream(uvicorn_server, protocol, orderBy=order, batchSize=6)

            assert streamed_ids(batches) == expected_ids(catalog, field, direction == "DESC")
            assert [b["sequence"] for b in batches] == list(range(1, 8))
            assert [len(b["products"]) for b in batches] == [6] * 6 + [5]
            assert [b["snapshotComplete"] for b in batches] == [False] * 6 + [True]
            assert {b["phase"] for b in batches} == {"SNAPSHOT"}
            assert all(b["removedIds"] == [] for b in batches)


async def test_products_carry_their_discounted_price_and_category(
    uvicorn_server, protocol, catalog
):
    batches = await stream(uvicorn_server, protocol, batchSize=1000)
    assert len(batches) == 1
    by_id = {gid("Product", p.pk): p for p in catalog}
    for streamed in batches[0]["products"]:
        product = by_id[streamed["id"]]
        assert streamed["price"] == f"{product.price:.2f}"
        assert streamed["discountPercent"] == f"{product.effective_discount_percent:.2f}"
        assert streamed["discountedPrice"] == f"{product.discounted_price:.2f}"
        assert streamed["category"] == {
            "id": gid("Category", product.category.pk),
            "name": product.category.name,
        }


async def test_resumes_from_any_batch_cursor(uvicorn_server, protocol, catalog):
    order = {"field": "PRICE", "direction": "DESC"}
    batches = await stream(uvicorn_server, protocol, orderBy=order, batchSize=4)
    every = streamed_ids(batches)
    for index, batch in enumerate(batches[:-1]):
        rest = await stream(
            uvicorn_server, protocol, orderBy=order, batchSize=7, after=batch["cursor"]
        )
        assert streamed_ids(rest) == every[4 * (index + 1) :]
    # Resuming after the very last product: nothing more, in one empty batch.
    (last,) = await stream(uvicorn_server, protocol, orderBy=order, after=batches[-1]["cursor"])
    assert last["products"] == []
    assert last["snapshotComplete"] is True


async def test_a_stream_cursor_is_a_connection_cursor(uvicorn_server, protocol, catalog):
    order = {"field": "DISCOUNTED_PRICE", "direction": "ASC"}
    batches = await stream(uvicorn_server, protocol, orderBy=order, batchSize=10)
    query = """query($after: String, $orderBy: ProductOrder) {
      products(first: 10, after: $after, orderBy: $orderBy) { edges { node { id } } } }"""
    variables = {"after": batches[1]["cursor"], "orderBy": order}
    async with httpx.AsyncClient(base_url=uvicorn_server) as client:
        response = await client.post("/graphql/", json={"query": query, "variables": variables})
    page = [edge["node"]["id"] for edge in response.json()["data"]["products"]["edges"]]
    assert page == streamed_ids(batches)[20:30]


async def test_filters_are_those_of_the_connection(uvicorn_server, protocol, catalog):
    sale_category = next(p.category for p in catalog if p.category.discount_percent)
    chosen = catalog[3:9]
    cases: list[tuple[dict[str, Any], list[Product]]] = [
        ({"onSale": True}, [p for p in catalog if p.effective_discount_percent > 0]),
        ({"onSale": False, "inStock": True}, [
            p for p in catalog if p.effective_discount_percent == 0 and p.stock > 0
        ]),
        ({"price": {"gte": "9.99", "lte": "10.00"}}, [
            p for p in catalog if Decimal("9.99") <= p.price <= Decimal("10.00")
        ]),
        ({"discountedPrice": {"lte": "8.54"}}, [
            p for p in catalog if p.discounted_price <= Decimal("8.54")
        ]),
        ({"categories": [gid("Category", sale_category.pk)]}, [
            p for p in catalog if p.category_id == sale_category.pk
        ]),
        ({"search": "lAm"}, [p for p in catalog if "lam" in p.name.lower()]),
        ({"ids": [gid("Product", p.pk) for p in chosen]}, chosen),
    ]  # fmt: skip
    for filter, matching in cases:
        batches = await stream(uvicorn_server, protocol, filter=filter, batchSize=5)
        assert matching, filter
        assert streamed_ids(batches) == expected_ids(matching, "CREATED_AT"), filter
        assert batches[-1]["snapshotComplete"] is True


async def test_an_empty_result_is_one_empty_batch(uvicorn_server, protocol, catalog):
    empty: list[dict[str, Any]] = [{"ids": []}, {"price": {"gte": "1000000.00"}}, {"search": "x"}]
    for filter in empty:
        (batch,) = await stream(uvicorn_server, protocol, filter=filter)
        assert batch == {
            "phase": "SNAPSHOT",
            "sequence": 1,
            "cursor": None,
            "snapshotComplete": True,
            "removedIds": [],
            "products": [],
        }


async def test_bad_arguments_are_clear_errors(uvicorn_server, protocol, catalog):
    other_order = (await stream(uvicorn_server, protocol, batchSize=2))[0]["cursor"]
    cases: list[tuple[dict[str, Any], str | None, str]] = [
        ({"batchSize": 0}, "BAD_USER_INPUT", "`batchSize` must be between 1 and 1000"),
        ({"batchSize": 1001}, "BAD_USER_INPUT", "`batchSize` must be between 1 and 1000"),
        ({"batchSize": -5}, "BAD_USER_INPUT", "`batchSize` must be between 1 and 1000"),
        ({"after": "garbage"}, "INVALID_CURSOR", "Invalid cursor"),
        ({"after": ""}, "INVALID_CURSOR", "Cursor is empty"),
        (
            {"after": other_order, "orderBy": {"field": "NAME"}},
            "INVALID_CURSOR",
            "was made for orderBy CREATED_AT ASC",
        ),
        ({"filter": {"ids": ["not-an-id"]}}, "INVALID_ID", "not-an-id"),
        ({"filter": {"price": {"gte": "cheap"}}}, None, "Decimal"),
    ]
    for variables, code, message in cases:
        error = await stream_error(uvicorn_server, protocol, **variables)
        assert message in error["message"], (variables, error)
        if code:
            assert error["extensions"]["code"] == code, (variables, error)
