"""``priceIn`` against a real exchange-rates service on loopback (tests.rates_server)."""

import asyncio
import json
import time
from decimal import Decimal
from typing import Any

import httpx
import pytest
from strawberry import relay
from websockets.asyncio.client import connect

from products.factories import CategoryFactory, ProductFactory
from tests.conftest import running_uvicorn
from tests.rates_server import Behaviour, RatesServer

pytestmark = pytest.mark.django_db

PAGE = """query($currency: String!) { products(first: 100, orderBy: {field: PRICE}) {
  edges { node { sku discountedPrice priceIn(currency: $currency) { amount currency } } } } }"""


def page_of(count: int) -> list[Any]:
    category = CategoryFactory()
    return [ProductFactory(category=category, price=f"{n + 1}.00") for n in range(count)]


def nodes(body):
    return [edge["node"] for edge in body["data"]["products"]["edges"]]


def test_converts_the_discounted_price_rounding_half_up(graphql, rates_server, product_factory):
    # 10.00 × 0.9225 = 9.225: half-up gives 9.23 where half-even would give 9.22.
    product_factory(price="10.00")
    # 20.00 − 50 % = 10.00, the amount converted.
    product_factory(price="20.00", discount_percent=Decimal(50))
    product_factory(price="3.33")
    amounts = [node["priceIn"] for node in nodes(graphql(PAGE, {"currency": "EUR"}))]
    assert amounts == [
        {"amount": "3.07", "currency": "EUR"},  # 3.071925
        {"amount": "9.23", "currency": "EUR"},
        {"amount": "9.23", "currency": "EUR"},
    ]
    assert rates_server.bases == ["USD"]


def test_currency_codes_are_case_insensitive_and_the_catalog_currency_needs_no_service(
    graphql, rates_server, product_factory, settings
):
    product_factory(price="151.15")
    assert nodes(graphql(PAGE, {"currency": "jpy"}))[0]["priceIn"] == {
        "amount": "22899.23",  # 151.15 × 151.5 = 22898.225
        "currency": "JPY",
    }
    settings.EXCHANGE_RATES_URL = ""
    assert nodes(graphql(PAGE, {"currency": "USD"}))[0]["priceIn"] == {
        "amount": "151.15",
        "currency": "USD",
    }
    assert rates_server.calls == 1


def test_one_fetch_for_a_page_of_100_products(graphql, rates_server, settings):
    settings.EXCHANGE_RATES_TTL = 0  # no cache: what is left is the request's loader
    page_of(100)
    query = """{ products(first: 100) { edges { node {
        eur: priceIn(currency: "EUR") { amount } gbp: priceIn(currency: "GBP") { amount } } } } }"""
    body = graphql(query)
    assert len(body["data"]["products"]["edges"]) == 100
    assert rates_server.calls == 1
    graphql(query)
    assert rates_server.calls == 2


def test_rates_are_cached_across_requests_until_they_expire(graphql, rates_server, settings):
    settings.EXCHANGE_RATES_TTL = 0.5
    page_of(3)
    graphql(PAGE, {"currency": "EUR"})
    graphql(PAGE, {"currency": "GBP"})
    assert rates_server.calls == 1
    time.sleep(0.6)
    graphql(PAGE, {"currency": "EUR"})
    assert rates_server.calls == 2


@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_share_one_fetch(test_database_url):
    page_of(5)

    async def concurrently(base_url: str, count: int) -> list[httpx.Response]:
        body = {"query": PAGE, "variables": {"currency": "EUR"}}
        async with httpx.AsyncClient(base_url=base_url, timeout=10) as client:
            return await asyncio.gather(
                *(client.post("/graphql/", json=body) for _ in range(count))
            )

    with RatesServer().running() as server:
        server.delay = 0.5  # every request arrives while the first fetch is in flight
        # Nothing cached (TTL 0): sharing the fetch in flight is all there is.
        environment = {"EXCHANGE_RATES_URL": server.url, "EXCHANGE_RATES_TTL": "0"}
        with running_uvicorn(test_database_url, environment) as base_url:
            responses = asyncio.run(concurrently(base_url, 8))
    for response in responses:
        assert [node["priceIn"]["currency"] for node in nodes(response.json())] == ["EUR"] * 5
    assert server.calls == 1


FAILURES = {
    "not configured": "No exchange-rates service is configured.",
    "unknown currency": "The exchange-rates service has no rate for XYZ.",
    "not a currency code": "'EURO' is not a currency code such as EUR.",
    "timeout": "The exchange-rates service did not answer in time.",
    "HTTP error": "The exchange-rates service answered HTTP 500.",
    "malformed JSON": "The exchange-rates service answered with malformed JSON.",
    "no rates in the answer": "The exchange-rates service's answer holds no valid USD rates.",
    "currency missing from the answer": "The exchange-rates service has no rate for EUR.",
}


def fail(case: str, server: RatesServer, settings) -> str:
    """Sets ``server`` up to fail as ``case`` says; returns the currency to ask for."""
    if case == "not configured":
        settings.EXCHANGE_RATES_URL = ""
    if case == "timeout":
        settings.EXCHANGE_RATES_TIMEOUT = 0.2
    server.behaviour = {
        "timeout": Behaviour.HANG,
        "HTTP error": Behaviour.FAIL,
        "malformed JSON": Behaviour.GARBLE,
        "no rates in the answer": Behaviour.NO_RATES,
    }.get(case, Behaviour.ANSWER)
    if case == "currency missing from the answer":
        del server.rates["EUR"]
    return {"unknown currency": "XYZ", "not a currency code": "EURO"}.get(case, "EUR")


@pytest.mark.parametrize("case", FAILURES)
def test_each_failure_is_an_error_on_the_field_alone(
    case, graphql, rates_server, settings, product_factory
):
    settings.EXCHANGE_RATES_TTL = 0
    products = page_of(3)
    body = graphql(PAGE, {"currency": fail(case, rates_server, settings)}, errors=True)
    assert [node["sku"] for node in nodes(body)] == [product.sku for product in products]
    assert [node["discountedPrice"] for node in nodes(body)] == ["1.00", "2.00", "3.00"]
    assert [node["priceIn"] for node in nodes(body)] == [None, None, None]
    assert [error["extensions"] for error in body["errors"]] == [
        {"code": "CURRENCY_UNAVAILABLE"}
    ] * 3
    assert {error["message"] for error in body["errors"]} == {FAILURES[case]}
    assert sorted(tuple(error["path"]) for error in body["errors"]) == [
        ("products", "edges", n, "node", "priceIn") for n in range(3)
    ]
    # A failure is remembered for the rest of the request, not asked again per product.
    assert rates_server.calls <= 1


def test_a_failure_is_not_cached(graphql, rates_server, settings):
    page_of(1)
    rates_server.behaviour = Behaviour.FAIL
    graphql(PAGE, {"currency": "EUR"}, errors=True)
    rates_server.behaviour = Behaviour.ANSWER
    assert nodes(graphql(PAGE, {"currency": "EUR"}))[0]["priceIn"]["amount"] == "0.92"
    assert rates_server.calls == 2


def test_in_product_and_node(graphql, rates_server):
    (product,) = page_of(1)
    global_id = str(relay.GlobalID("Product", str(product.pk)))
    body = graphql(
        """query($id: ID!, $sku: String!) {
          byId: product(id: $id) { priceIn(currency: "EUR") { amount } }
          bySku: product(sku: $sku) { priceIn(currency: "GBP") { amount } }
          node(id: $id) { ... on Product { priceIn(currency: "EUR") { amount } } } }""",
        {"id": global_id, "sku": product.sku},
    )
    assert body["data"] == {
        "byId": {"priceIn": {"amount": "0.92"}},
        "bySku": {"priceIn": {"amount": "0.79"}},
        "node": {"priceIn": {"amount": "0.92"}},
    }
    assert rates_server.calls == 1


STREAM = """subscription { productStream(batchSize: 2, orderBy: {field: PRICE}) {
  sequence products { sku priceIn(currency: "EUR") { amount } } } }"""


async def stream(base_url: str) -> list[dict[str, Any]]:
    """The messages of ``STREAM`` over graphql-transport-ws, up to its completion."""
    url = base_url.replace("http://", "ws://") + "/graphql/"
    async with connect(url, subprotocols=["graphql-transport-ws"]) as socket:  # type: ignore[list-item]
        await socket.send(json.dumps({"type": "connection_init"}))
        assert json.loads(await socket.recv())["type"] == "connection_ack"
        await socket.send(
            json.dumps({"id": "1", "type": "subscribe", "payload": {"query": STREAM}})
        )
        messages = []
        while (message := json.loads(await socket.recv()))["type"] != "complete":
            assert message["type"] == "next", message
            messages.append(message["payload"])
        return messages


@pytest.mark.django_db(transaction=True)
def test_one_fetch_per_stream_batch_and_failures_on_the_field_alone(test_database_url):
    skus = [product.sku for product in page_of(5)]
    with RatesServer().running() as server:
        environment = {"EXCHANGE_RATES_URL": server.url, "EXCHANGE_RATES_TTL": "0"}
        with running_uvicorn(test_database_url, environment) as base_url:
            batches = [
                b["data"]["productStream"]["products"] for b in asyncio.run(stream(base_url))
            ]
            amounts = ["0.92", "1.85", "2.77", "3.69", "4.61"]
            expected = [
                {"sku": s, "priceIn": {"amount": a}} for s, a in zip(skus, amounts, strict=True)
            ]
            assert batches == [expected[0:2], expected[2:4], expected[4:5]]
            # Nothing cached (TTL 0): each batch fetched once, for its two products.
            assert server.calls == 3

            server.behaviour = Behaviour.FAIL
            batches = asyncio.run(stream(base_url))
            for batch, batch_skus in zip(batches, [skus[0:2], skus[2:4], skus[4:5]], strict=True):
                products = batch["data"]["productStream"]["products"]
                assert products == [{"sku": sku, "priceIn": None} for sku in batch_skus]
                codes = [error["extensions"]["code"] for error in batch["errors"]]
                assert codes == ["CURRENCY_UNAVAILABLE"] * len(batch_skus)
            assert server.calls == 6
