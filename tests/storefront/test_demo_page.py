"""The live catalog page (/demo/) in a real headless Chromium, against a real
uvicorn, offline: the browser may reach the server and nothing else. Writes
come from outside the page, as they would in a shop: a staff mutation over
HTTP, SQL on the database. Screenshots go to test-artefacts/storefront/."""

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from asgiref.sync import sync_to_async
from django.db import connection, connections
from django.test import Client
from playwright.async_api import Browser, Page, WebSocket
from strawberry.relay import to_base64

from accounts.factories import UserFactory
from accounts.services import create_api_token
from products.factories import CategoryFactory, ProductFactory
from products.models import Product
from tests.browser import WatchedPage
from tests.conftest import ROOT
from tests.cutting_proxy import CuttingProxy, cutting_proxy

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

ARTEFACTS = ROOT / "test-artefacts" / "storefront"
PAGE_SIZE = 24  # catalog-page.js
# Short enough that the first page does not reach the end of the grid, so
# that it is scrolling that loads the next.
DESKTOP = {"width": 1024, "height": 600}
PHONE = {"width": 375, "height": 740}

UPDATE_PRODUCT = """
mutation Update($id: ID!, $input: UpdateProductInput!) {
  updateProduct(id: $id, input: $input) { product { discountedPrice version } errors { code } }
}"""


def gid(pk: int) -> str:
    return to_base64("Product", pk)


class Storefront(WatchedPage):
    """The page, and what the browser tried to reach or complained of."""

    def __init__(self, page: Page, server: str) -> None:
        super().__init__(page, server)
        self.graphql_requests: list[str] = []  # operation names posted over HTTP
        self.frames_sent: list[dict[str, Any]] = []
        page.on("request", self.record_request)
        page.on("websocket", self.watch)

    def record_request(self, request: Any) -> None:
        if request.method == "POST" and request.url.endswith("/graphql/"):
            query = json.loads(request.post_data)["query"]
            self.graphql_requests.append(query.split("(")[0].split("{")[0].split()[-1])

    def watch(self, socket: WebSocket) -> None:
        socket.on("framesent", lambda frame: self.frames_sent.append(json.loads(frame)))

    async def open(self) -> None:
        await self.page.goto(f"{self.server}/demo/")
        await self.page.wait_for_selector("#connection[data-state='live']")
        await self.page.wait_for_selector("#grid[aria-busy='false']")

    async def shown_ids(self) -> list[str]:
        ids: list[str] = await self.page.eval_on_selector_all(
            "#grid .card", "cards => cards.map(card => card.dataset.id)"
        )
        return ids

    async def cards_shown(self, count: int | None = None, *, more_than: int | None = None) -> None:
        """Waits until the grid holds ``count`` cards, or more than ``more_than``."""
        await self.page.wait_for_function(
            """([count, moreThan]) => {
                const shown = document.querySelectorAll("#grid .card").length;
                return count === null ? shown > moreThan : shown === count;
            }""",
            arg=[count, more_than],
        )

    async def price_flashes(self, pk: int, price: str, within: float = 1.0) -> None:
        """Waits until ``pk``'s card shows ``price``, flashing."""
        await self.page.wait_for_function(
            """([id, price]) => {
                const shown = document.querySelector(`.card[data-id="${id}"] .price-now`);
                return shown?.dataset.price === price && shown.classList.contains("flash");
            }""",
            arg=[gid(pk), price],
            timeout=within * 1000,
        )

    async def screenshot(self, name: str) -> None:
        ARTEFACTS.mkdir(parents=True, exist_ok=True)
        await self.page.screenshot(path=ARTEFACTS / f"{name}.png", full_page=False)

    def assert_offline_and_unbroken(self) -> None:
        assert self.elsewhere == []
        assert self.errors == []


async def open_storefront(
    browser: Browser, server: str, **context_options: Any
) -> AsyncIterator[Storefront]:
    context = await browser.new_context(**context_options)
    storefront = Storefront(await context.new_page(), server)
    await context.route("**/*", storefront.only_the_server)
    try:
        yield storefront
    finally:
        await context.close()


@pytest.fixture
async def storefront(browser: Browser, uvicorn_server: str) -> AsyncIterator[Storefront]:
    async for page in open_storefront(browser, uvicorn_server, viewport=DESKTOP):
        yield page


@pytest.fixture(autouse=True)
async def close_writer_connections():
    """The ORM's writes run on asgiref's shared thread; its connection must
    not outlive the test database."""
    yield
    await sync_to_async(connections.close_all)()


@pytest.fixture
def catalog() -> list[Product]:
    """60 products without discount, in creation order, priced 10.00, 11.00 …"""
    return [
        ProductFactory.create(price=Decimal(10 + i), discount_percent=Decimal(0), stock=5)
        for i in range(60)
    ]


@pytest.fixture
def staff_token() -> str:
    return create_api_token(UserFactory.create(staff=True)).token


@pytest.fixture
async def staff_api(uvicorn_server: str, staff_token: str) -> AsyncIterator[httpx.AsyncClient]:
    headers = {"Authorization": f"Bearer {staff_token}", "Accept": "application/json"}
    async with httpx.AsyncClient(base_url=uvicorn_server, headers=headers, timeout=10) as client:
        yield client


async def update_product(api: httpx.AsyncClient, pk: int, **fields: Any) -> dict[str, Any]:
    response = await api.post(
        "/graphql/", json={"query": UPDATE_PRODUCT, "variables": {"id": gid(pk), "input": fields}}
    )
    payload: dict[str, Any] = response.json()["data"]["updateProduct"]
    assert payload["errors"] == [], payload
    return payload


@sync_to_async
def set_price_by_sql(pk: int, price: str) -> None:
    """As another program would: SQL alone, which touches neither version
    nor discounted price (the database's triggers do)."""
    with connection.cursor() as cursor:
        cursor.execute("UPDATE products_product SET price = %s WHERE id = %s", [price, pk])


async def test_the_page_renders_the_first_products(storefront: Storefront, catalog: list[Product]):
    await storefront.open()
    assert await storefront.shown_ids() == [gid(p.pk) for p in catalog[:PAGE_SIZE]]
    first = storefront.page.locator(f'.card[data-id="{gid(catalog[0].pk)}"]')
    assert await first.locator(".name").text_content() == catalog[0].name
    assert await first.locator(".price-now").text_content() == "$10.00"
    assert await storefront.page.locator("#count").text_content() == "(24 of 60 shown)"
    await storefront.screenshot("first-page")
    storefront.assert_offline_and_unbroken()


async def test_scrolling_loads_the_next_page(storefront: Storefront, catalog: list[Product]):
    await storefront.open()
    assert len(await storefront.shown_ids()) == PAGE_SIZE
    await storefront.page.locator("#load-more").scroll_into_view_if_needed()
    await storefront.cards_shown(more_than=PAGE_SIZE)
    await storefront.page.mouse.wheel(0, 10_000)
    await storefront.cards_shown(60)
    assert await storefront.shown_ids() == [gid(p.pk) for p in catalog]
    assert await storefront.page.locator("#load-more").is_hidden()
    assert storefront.graphql_requests.count("CatalogPage") == 3
    await storefront.screenshot("scrolled")
    storefront.assert_offline_and_unbroken()


async def test_a_mutation_flashes_the_new_price_within_a_second(
    storefront: Storefront, catalog: list[Product], staff_api: httpx.AsyncClient
):
    await storefront.open()
    product = catalog[1]
    await update_product(staff_api, product.pk, price="7.25")
    await storefront.price_flashes(product.pk, "7.25")
    announcer = storefront.page.locator("#announcer")
    assert await announcer.text_content() == f"{product.name} now $7.25."
    await storefront.screenshot("price-flash")
    storefront.assert_offline_and_unbroken()


async def test_an_sql_update_flashes_too(storefront: Storefront, catalog: list[Product]):
    await storefront.open()
    product = catalog[2]
    await set_price_by_sql(product.pk, "3.50")
    await storefront.price_flashes(product.pk, "3.50")
    storefront.assert_offline_and_unbroken()


@pytest.fixture
def on_sale(catalog: list[Product]) -> list[Product]:
    """The catalog with its first and sixth products in a category on sale."""
    sale = CategoryFactory.create(discount_percent=Decimal("20"))
    Product.objects.filter(pk__in=[catalog[0].pk, catalog[5].pk]).update(
        category=sale, discount_percent=None
    )
    return catalog


async def test_products_join_and_leave_as_they_move_in_and_out_of_the_filter(
    storefront: Storefront, on_sale: list[Product], staff_api: httpx.AsyncClient
):
    catalog = on_sale
    await storefront.open()
    await storefront.page.get_by_label("On sale").check()
    await storefront.cards_shown(2)
    assert await storefront.shown_ids() == [gid(catalog[0].pk), gid(catalog[5].pk)]
    # A discount puts a product in the filter; taking it back, out.
    await update_product(staff_api, catalog[3].pk, discountPercent="10")
    await storefront.page.wait_for_selector(f'.card[data-id="{gid(catalog[3].pk)}"]', timeout=1000)
    assert await storefront.shown_ids() == [gid(catalog[p].pk) for p in (0, 3, 5)]
    card = storefront.page.locator(f'.card[data-id="{gid(catalog[3].pk)}"]')
    assert await card.locator(".price-was").text_content() == "$13.00"
    assert await card.locator(".price-now").text_content() == "$11.70"
    await update_product(staff_api, catalog[0].pk, discountPercent="0")
    await storefront.cards_shown(2)
    assert await storefront.shown_ids() == [gid(catalog[p].pk) for p in (3, 5)]
    await storefront.screenshot("on-sale")
    storefront.assert_offline_and_unbroken()


@pytest.fixture
def proxy(uvicorn_server: str) -> Iterator[CuttingProxy]:
    port = urlsplit(uvicorn_server).port
    assert port is not None
    with cutting_proxy(port) as proxy:
        yield proxy


async def test_after_the_network_drops_the_stream_resumes_without_reloading_the_catalog(
    browser: Browser, proxy: CuttingProxy, catalog: list[Product], staff_api: httpx.AsyncClient
):
    async for storefront in open_storefront(browser, f"http://{proxy.address}", viewport=DESKTOP):
        await storefront.open()
        page = storefront.page
        # A mark on the grid's nodes, which a reload of the catalog would lose.
        await page.eval_on_selector_all("#grid .card", "cards => cards.forEach(c => c.kept = 1)")
        loaded = list(storefront.graphql_requests)

        proxy.refusing = True
        proxy.cut()
        await page.wait_for_selector("#connection[data-state='reconnecting']", timeout=5000)
        product = catalog[4]
        await update_product(staff_api, product.pk, price="4.44")
        await asyncio.sleep(0.5)
        assert (
            await page.locator(f'.card[data-id="{gid(product.pk)}"] .price-now').get_attribute(
                "data-price"
            )
            == "14.00"
        )
        await storefront.screenshot("offline")

        proxy.refusing = False
        await storefront.price_flashes(product.pk, "4.44", within=20)
        await page.wait_for_selector("#connection[data-state='live']")
        assert await page.eval_on_selector_all(
            "#grid .card", "cards => cards.every(c => c.kept === 1)"
        )
        assert storefront.graphql_requests == loaded
        subscriptions = [
            m["payload"]["variables"] for m in storefront.frames_sent if m["type"] == "subscribe"
        ]
        assert "resume" not in subscriptions[0]
        assert subscriptions[-1]["resume"]
        assert "after" not in subscriptions[-1]
        assert "live" not in subscriptions[-1]
        announcer = page.locator("#announcer")
        assert "now $4.44" in (await announcer.text_content() or "")
        await storefront.screenshot("resumed")
        assert storefront.elsewhere == []
        # The failed attempts while the proxy refused are the browser's errors.
        assert all("WebSocket" in error for error in storefront.errors), storefront.errors


async def test_on_a_phone(browser: Browser, uvicorn_server: str, catalog: list[Product]):
    async for storefront in open_storefront(
        browser, uvicorn_server, viewport=PHONE, is_mobile=True, has_touch=True
    ):
        await storefront.open()
        page = storefront.page
        assert await page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        lefts = await page.eval_on_selector_all(
            "#grid .card", "cards => cards.map(c => c.getBoundingClientRect().left)"
        )
        assert len(set(lefts)) == 1  # one column
        for control in ("Search", "Category", "Order by"):
            box = await page.get_by_label(control).bounding_box()
            assert box is not None
            assert box["height"] >= 44
            assert box["x"] + box["width"] <= PHONE["width"]
        await storefront.screenshot("phone")
        await page.mouse.wheel(0, 20_000)
        await storefront.cards_shown(more_than=PAGE_SIZE)
        storefront.assert_offline_and_unbroken()


async def test_landmarks_labels_and_keyboard(storefront: Storefront, catalog: list[Product]):
    await storefront.open()
    page = storefront.page
    for role in ("banner", "main", "search", "contentinfo", "status"):
        assert await page.get_by_role(role).count() >= 1, role
    assert await page.get_by_role("region", name="Products").count() == 1
    assert await page.get_by_role("list").locator("article").count() == PAGE_SIZE

    await page.keyboard.press("Tab")
    assert await page.evaluate("document.activeElement.textContent") == "Skip to the products"
    await page.keyboard.press("Tab")
    assert await page.evaluate("document.activeElement.id") == "search"
    await page.keyboard.type(catalog[7].sku)
    await storefront.cards_shown(1)
    assert await storefront.shown_ids() == [gid(catalog[7].pk)]
    await page.keyboard.press("Tab")
    await page.keyboard.press("Tab")
    assert await page.evaluate("document.activeElement.id") == "order"
    storefront.assert_offline_and_unbroken()


def test_the_page_is_under_a_strict_content_security_policy(client: Client):
    response = client.get("/demo/")
    assert response.status_code == 200
    policy = response["Content-Security-Policy"]
    assert "default-src 'none'" in policy
    assert "script-src 'self'" in policy
    assert "unsafe" not in policy


def test_demo_page_off(client: Client, settings: Any):
    settings.DEMO_PAGE = False
    response = client.get("/demo/", headers={"Accept": "application/json"})
    assert response.status_code == 404
    assert response.json()["errors"][0]["extensions"]["code"] == "NOT_FOUND"
