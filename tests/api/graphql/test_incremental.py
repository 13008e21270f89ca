"""Incremental execution in process: in parts only inside
``incremental_delivery()``, every part's errors coded and masked like the
rest, the limits applied to deferred fragments, the streamed page's reads."""

from collections.abc import AsyncIterator
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.db import connections
from graphql import ExperimentalIncrementalExecutionResults

from api.graphql.incremental import incremental_delivery
from api.paging import windows
from api.schema import schema
from products import services
from products.exchange_rates import RatesLoader
from products.factories import CategoryFactory, ProductFactory

pytestmark = pytest.mark.django_db(transaction=True)

DEFERRED_PRICE = """query Deferred { products(first: 2) { edges { node {
  sku ... @defer { priceIn(currency: "EUR") { amount } } } } } }"""


async def parts(query: str, **variables: Any) -> list[dict[str, Any]]:
    with incremental_delivery():
        result = await schema.execute(query, variable_values=variables)
    assert isinstance(result, ExperimentalIncrementalExecutionResults)
    return [
        result.initial_result.formatted,
        *[part.formatted async for part in result.subsequent_results],
    ]


@pytest.fixture(autouse=True)
async def connections_closed() -> AsyncIterator[None]:
    """The connection of the thread the resolvers' queries ran on, closed:
    the test database can then be dropped."""
    yield
    await sync_to_async(connections.close_all)()


@pytest.fixture
def catalog(db: None) -> None:
    category = CategoryFactory()
    services.add_products(ProductFactory.build_batch(30, category=category))


async def test_outside_incremental_delivery_everything_completes_in_place(catalog: None) -> None:
    result = await schema.execute(DEFERRED_PRICE)
    assert not isinstance(result, ExperimentalIncrementalExecutionResults)
    edges = result.data["products"]["edges"]  # type: ignore[index]
    assert [edge["node"]["priceIn"] for edge in edges] == [None, None]
    assert {error.extensions["code"] for error in result.errors or []} == {"CURRENCY_UNAVAILABLE"}  # type: ignore[index]


async def test_an_unexpected_error_in_a_deferred_part_is_masked(
    catalog: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(self: RatesLoader, code: str) -> Any:
        raise RuntimeError("the secret internals")

    monkeypatch.setattr(RatesLoader, "rate", broken)
    _, *later = await parts(DEFERRED_PRICE)
    errors = [error for part in later for entry in part["incremental"] for error in entry["errors"]]
    assert len(errors) == 2
    for error in errors:
        assert error["message"] == "Unexpected error."
        assert error["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
        assert error["extensions"]["requestId"]


async def test_a_failed_window_ends_the_stream_with_a_masked_error(
    catalog: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    read = windows.read_window
    calls = 0

    async def failing_later(*args: Any, **kwargs: Any) -> list[Any]:
        nonlocal calls
        calls += 1
        if calls > 1:
            raise RuntimeError("the secret internals")
        return await read(*args, **kwargs)

    monkeypatch.setattr(windows, "read_window", failing_later)
    query = "{ products(first: 30) { edges @stream(initialCount: 2) { cursor } } }"
    first, *later = await parts(query)
    assert len(first["data"]["products"]["edges"]) == 2
    [completed] = [entry for part in later for entry in part.get("completed", [])]
    [error] = completed["errors"]
    assert error["message"] == "Unexpected error."
    assert error["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    assert error["path"] == ["products", "edges"]
    assert later[-1]["hasNext"] is False


async def test_errors_of_the_initial_part_are_coded_and_masked(
    catalog: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(self: RatesLoader, code: str) -> Any:
        raise RuntimeError("the secret internals")

    monkeypatch.setattr(RatesLoader, "rate", broken)
    query = """{ product(id: "x", sku: "y") { name }
      products(first: 1) { edges { node { priceIn(currency: "EUR") { amount } } } }
      ... @defer { categories(first: 1) { totalCount } } }"""
    first, *_ = await parts(query)
    assert [(error["message"], error["extensions"]["code"]) for error in first["errors"]] == [
        ("Pass exactly one of `id` and `sku`.", "BAD_USER_INPUT"),
        ("Unexpected error.", "INTERNAL_SERVER_ERROR"),
    ]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        (
            "{ ... @defer { products { edges { node { category { products { edges { node {"
            " category { products { edges { node { name } } } } } } } } } } } } }",
            "exceeds maximum operation depth",
        ),
        (
            "{ ... @defer { " + " ".join(f"a{n}: __typename" for n in range(31)) + " } }",
            "aliases",
        ),
    ],
)
async def test_the_limits_apply_inside_deferred_fragments(query: str, message: str) -> None:
    with incremental_delivery():
        result = await schema.execute(query)
    assert not isinstance(result, ExperimentalIncrementalExecutionResults)
    [error] = result.errors or []
    assert message in error.message
    assert error.extensions == {"code": "GRAPHQL_VALIDATION_FAILED"}


async def test_only_one_streamed_edges_is_read_in_windows(catalog: None) -> None:
    """Two response names for the edges read them once, whole, from a page
    of the usual size; a page larger than that is refused."""
    query = """query($first: Int!) { products(first: $first) {
      a: edges @stream(initialCount: 1, label: "a") { cursor }
      b: edges { cursor } } }"""
    result = await parts(query, first=5)
    assert len(result[0]["data"]["products"]["b"]) == 5
    with incremental_delivery():
        refused = await schema.execute(query, variable_values={"first": 500})
    [error] = refused.errors or []
    assert "at most 100" in error.message
