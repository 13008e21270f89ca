"""GraphiQL in a real headless Chromium, against a real uvicorn, with no
network: the browser may reach the server and nothing else, so the page
proves that it needs no CDN."""

import asyncio
import json
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import User
from playwright.async_api import Browser, BrowserContext, Page, WebSocket

from accounts.factories import UserFactory
from api.http.graphiql import PRODUCT_STREAM, PRODUCTS_PAGE
from products.factories import ProductFactory
from tests.browser import WatchedPage

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

QUERY_EDITOR = ".graphiql-query-editor .CodeMirror"
RESPONSE = ".graphiql-response .CodeMirror"


class GraphiQL(WatchedPage):
    """A page of GraphiQL, and what the browser tried to reach."""

    def __init__(self, context: BrowserContext, page: Page, server: str) -> None:
        super().__init__(page, server)
        self.context = context
        self.sockets: list[WebSocket] = []
        page.on("websocket", lambda socket: self.sockets.append(socket))

    async def open(self) -> None:
        # Returns once the page and its scripts and styles have loaded, or failed to.
        await self.page.goto(f"{self.server}/graphql/")
        assert not self.elsewhere, f"the page asked for {self.elsewhere}"
        await self.page.locator(QUERY_EDITOR).wait_for()

    async def query_text(self) -> str:
        text: str = await self.page.locator(QUERY_EDITOR).evaluate("e => e.CodeMirror.getValue()")
        return text

    async def tab(self, operation: str) -> None:
        await self.page.locator(".graphiql-tab", has_text=operation).click()
        await self.operation_read(operation)

    async def write(self, query: str, operation: str) -> None:
        """Replaces the query, whose operation is named ``operation``."""
        await self.page.locator(QUERY_EDITOR).evaluate("(e, q) => e.CodeMirror.setValue(q)", query)
        await self.operation_read(operation)

    async def operation_read(self, operation: str) -> None:
        """Waits until GraphiQL, which reads the query a moment after it
        changes, would run ``operation``."""
        await self.page.wait_for_function(
            "([selector, name]) => document.querySelector(selector).CodeMirror.operationName === name",
            arg=[QUERY_EDITOR, operation],
        )

    async def run(self) -> None:
        await self.page.locator(".graphiql-execute-button").click()

    async def response(self, containing: str) -> Any:
        """The results pane as JSON, once it shows ``containing``."""
        text = await self.page.wait_for_function(
            """([selector, containing]) => {
                const text = document.querySelector(selector)?.CodeMirror.getValue();
                return text?.includes(containing) && text;
            }""",
            arg=[RESPONSE, containing],
        )
        return json.loads(await text.json_value())

    def assert_offline_and_unbroken(self) -> None:
        """Nothing but the server was asked for, and no script failed."""
        assert self.elsewhere == []
        websocket_origin = self.server.replace("http", "ws", 1)
        assert all(socket.url.startswith(f"{websocket_origin}/") for socket in self.sockets)
        assert self.errors == []


@pytest.fixture
async def graphiql(browser: Browser, uvicorn_server: str) -> AsyncIterator[GraphiQL]:
    context = await browser.new_context()
    graphiql = GraphiQL(context, await context.new_page(), uvicorn_server)
    await context.route("**/*", graphiql.only_the_server)
    yield graphiql
    await context.close()


@pytest.fixture
def catalog() -> list[str]:
    """25 products, created in this order, priced from 25.00 down to 1.00."""
    return [ProductFactory.create(price=Decimal(25 - i)).sku for i in range(25)]


async def test_graphiql_opens_offline_on_the_conveyor_examples(graphiql: GraphiQL):
    await graphiql.open()
    assert await graphiql.query_text() == PRODUCTS_PAGE
    await graphiql.tab("ProductStream")
    assert await graphiql.query_text() == PRODUCT_STREAM
    graphiql.assert_offline_and_unbroken()


async def test_the_products_page_runs(graphiql: GraphiQL, catalog: list[str]):
    await graphiql.open()
    await graphiql.operation_read("ProductsPage")
    await graphiql.run()
    products = (await graphiql.response("totalCount"))["data"]["products"]
    assert products["totalCount"] == 25
    assert products["pageInfo"]["hasNextPage"] is True
    cheapest = [edge["node"] for edge in products["edges"]]
    assert [node["sku"] for node in cheapest] == catalog[::-1][:10]
    assert [node["price"] for node in cheapest] == [f"{p}.00" for p in range(1, 11)]
    graphiql.assert_offline_and_unbroken()


async def test_the_product_stream_shows_its_batches(graphiql: GraphiQL, catalog: list[str]):
    received: list[dict[str, Any]] = []
    sent: list[dict[str, Any]] = []
    completed = asyncio.Event()

    def on_sent(frame: str | bytes) -> None:
        sent.append(json.loads(frame))
        if sent[-1]["type"] == "complete":
            completed.set()

    def watch(socket: WebSocket) -> None:
        socket.on("framereceived", lambda frame: received.append(json.loads(frame)))
        socket.on("framesent", on_sent)

    graphiql.page.on("websocket", watch)
    await graphiql.open()
    await graphiql.tab("ProductStream")
    await graphiql.run()

    # The pane shows each batch as it arrives; the last of the snapshot stays.
    last = (await graphiql.response('"snapshotComplete": true'))["data"]["productStream"]
    assert (last["phase"], last["sequence"], len(last["products"])) == ("SNAPSHOT", 3, 5)
    batches = [m["payload"]["data"]["productStream"] for m in received if m["type"] == "next"]
    assert [len(batch["products"]) for batch in batches] == [10, 10, 5]
    assert [p["sku"] for batch in batches for p in batch["products"]] == catalog

    # graphql-transport-ws (the legacy protocol would "start"); the stream is
    # live, until ■ stops it.
    assert [m["type"] for m in sent] == ["connection_init", "subscribe"]
    await graphiql.run()
    await asyncio.wait_for(completed.wait(), timeout=10)
    graphiql.assert_offline_and_unbroken()


LOG_IN = """mutation LogIn {
  login(username: "%s", password: "correct horse") { username isStaff errors { code } }
}"""
LOG_OUT = "mutation LogOut { logout }"


@pytest.fixture
def staff() -> User:
    return UserFactory.create(staff=True, password="correct horse")


async def test_mutations_with_the_session_pass_the_csrf_check(graphiql: GraphiQL, staff: User):
    """GraphiQL sends the csrftoken cookie as X-CSRFToken, the one login rotated too."""
    await graphiql.open()
    await graphiql.write(LOG_IN % staff.username, "LogIn")
    await graphiql.run()
    login = (await graphiql.response('"login"'))["data"]["login"]
    assert login == {"username": staff.username, "isStaff": True, "errors": []}
    assert "sessionid" in {cookie["name"] for cookie in await graphiql.context.cookies()}

    await graphiql.write(LOG_OUT, "LogOut")
    await graphiql.run()
    assert (await graphiql.response('"logout"'))["data"] == {"logout": True}
    graphiql.assert_offline_and_unbroken()
