"""Real JavaScript clients of incremental delivery against a real uvicorn:
meros (a multipart/mixed reader) and Apollo Client 4's HttpLink with its
GraphQL17Alpha9Handler, the handler of graphql-core 3.3's payloads."""

from pathlib import Path
from typing import Any

import httpx
import pytest

from products import services
from products.factories import CategoryFactory, ProductFactory
from tests.multipart_parts import merged
from tests.node_clients import run_node

pytestmark = pytest.mark.django_db(transaction=True)

CLIENTS = Path(__file__).parent / "clients"

DEFERRED = """query Deferred { products(first: 3) { edges { node {
  id sku ... @defer { category { name } } } } } }"""

STREAMED = """query Streamed { products(first: 100) {
  totalCount edges @stream(initialCount: 5) { cursor node { id sku } }
  pageInfo { hasNextPage endCursor } } }"""


@pytest.fixture
def catalog(db: None) -> None:
    category = CategoryFactory(name="Lamps")
    services.add_products(ProductFactory.build_batch(101, category=category))


def whole(base_url: str, query: str) -> dict[str, Any]:
    response = httpx.post(
        f"{base_url}/graphql/", json={"query": query}, headers={"Accept": "application/json"}
    )
    data: dict[str, Any] = response.json()["data"]
    return data


def without_typenames(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: without_typenames(v) for k, v in value.items() if k != "__typename"}
    if isinstance(value, list):
        return [without_typenames(v) for v in value]
    return value


@pytest.mark.parametrize("query", [DEFERRED, STREAMED])
def test_meros_reads_the_parts(uvicorn_server: str, catalog: None, query: str) -> None:
    result = run_node(CLIENTS / "incremental_meros.mjs", f"{uvicorn_server}/graphql/", query)
    assert result["status"] == 200
    assert result["contentType"].startswith("multipart/mixed")
    assert len(result["parts"]) > 1
    assert result["parts"][0]["hasNext"] is True
    assert result["parts"][-1]["hasNext"] is False
    assert merged(result["parts"])["data"] == whole(uvicorn_server, query)


def test_apollo_client_renders_deferred_category_later(uvicorn_server: str, catalog: None) -> None:
    result = run_node(CLIENTS / "incremental_apollo.mjs", f"{uvicorn_server}/graphql/", DEFERRED)
    first, *_, last = result["emitted"]
    assert first["loading"] is True
    assert all("category" not in edge["node"] for edge in first["data"]["products"]["edges"])
    assert last["loading"] is False
    assert last["error"] is None
    assert without_typenames(last["data"]) == whole(uvicorn_server, DEFERRED)


def test_apollo_client_renders_a_streamed_page_as_it_grows(
    uvicorn_server: str, catalog: None
) -> None:
    result = run_node(CLIENTS / "incremental_apollo.mjs", f"{uvicorn_server}/graphql/", STREAMED)
    sizes = [len(emitted["data"]["products"]["edges"]) for emitted in result["emitted"]]
    assert sizes[0] == 5
    assert sizes == sorted(sizes)
    assert len(sizes) > 2
    last = result["emitted"][-1]
    assert last["loading"] is False
    assert without_typenames(last["data"]) == whole(uvicorn_server, STREAMED)
