"""Buckets of cost points per client: the refusal over HTTP (429) and over
websockets, the refill, and one bucket shared by two server processes
through the database and through Redis, failed logins included. Each test is a client of its own: an address of its own in
X-Forwarded-For, read because the tests' loopback is a trusted proxy."""

import asyncio
import time
import uuid
from typing import Any

import httpx
import pytest
import redis
from django.test import Client

from accounts.factories import UserFactory
from accounts.services import create_api_token
from tests.conftest import running_uvicorn
from tests.graphql_ws import PROTOCOLS, graphql_websocket

REDIS_URL = "redis://127.0.0.1:6379/0"
PAGE = "{ products(first: 9) { edges { node { id } } } }"  # costs 1 + 9 + 9 = 19


def new_address() -> str:
    return f"2001:db8::{uuid.uuid4().int % 0xFFFF:x}:{uuid.uuid4().int % 0xFFFF:x}"


@pytest.fixture
def limited(settings: Any) -> Any:
    settings.RATE_LIMITING = True
    settings.TRUSTED_PROXIES = ["127.0.0.1"]
    settings.RATE_LIMIT_CAPACITY = 50
    settings.RATE_LIMIT_REFILL_PER_SECOND = 20
    return settings


def post(client: Client, address: str, query: str = PAGE) -> Any:
    return client.post(
        "/graphql/",
        {"query": query},
        content_type="application/json",
        headers={"X-Forwarded-For": address, "Accept": "application/json"},
    )


@pytest.mark.django_db
def test_an_empty_bucket_answers_429_with_retry_after(client: Client, limited: Any) -> None:
    address = new_address()
    assert post(client, address).status_code == 200  # 31 left
    assert post(client, address).status_code == 200  # 12 left
    refused = post(client, address)
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) >= 1
    body = refused.json()
    assert body["data"] is None
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "RATE_LIMITED"
    assert error["extensions"]["retryAfter"] == int(refused.headers["Retry-After"])
    # Another client has a bucket of its own.
    assert post(client, new_address()).status_code == 200


@pytest.mark.django_db
def test_the_bucket_refills_at_a_steady_rate(client: Client, limited: Any) -> None:
    limited.RATE_LIMIT_REFILL_PER_SECOND = 10
    address = new_address()
    while post(client, address).status_code == 200:
        pass
    time.sleep(19 / 10 + 0.1)  # one page's worth of points
    assert post(client, address).status_code == 200
    assert post(client, address).status_code == 429


@pytest.mark.django_db
def test_the_forwarded_address_counts_only_behind_a_trusted_proxy(
    client: Client, limited: Any
) -> None:
    limited.TRUSTED_PROXIES = []
    # every request comes from 127.0.0.1 then, whatever it forwards
    statuses = [post(client, new_address()).status_code for _ in range(3)]
    assert statuses[-1] == 429


def admitted(client: Client, headers: dict[str, str]) -> int:
    """How many pages in a row the client's bucket pays for."""
    count = 0
    while count < 50:
        response = client.post(
            "/graphql/", {"query": PAGE}, content_type="application/json", headers=headers
        )
        if response.status_code == 429:
            return count
        count += 1
    return count


@pytest.mark.django_db
def test_a_token_has_a_bucket_of_its_own_and_staff_a_larger_one(
    client: Client, limited: Any
) -> None:
    limited.RATE_LIMIT_REFILL_PER_SECOND = 0.01
    limited.RATE_LIMIT_STAFF_FACTOR = 3
    address = new_address()
    staff = create_api_token(UserFactory.create(staff=True)).token
    other = create_api_token(UserFactory.create()).token
    assert admitted(client, {"X-Forwarded-For": address}) == 2  # 50 // 19
    # the same address, but each token spends from its own bucket
    assert admitted(client, {"X-Forwarded-For": address, "Authorization": f"Bearer {other}"}) == 2
    assert admitted(client, {"X-Forwarded-For": address, "Authorization": f"Bearer {staff}"}) == 7


@pytest.mark.django_db
def test_rate_limiting_off_admits_all(client: Client, limited: Any) -> None:
    limited.RATE_LIMITING = False
    address = new_address()
    assert all(post(client, address).status_code == 200 for _ in range(5))


def shared_bucket_settings(store: str) -> dict[str, str]:
    return {
        "RATE_LIMITING": "true",
        "RATE_LIMIT_STORE": store,
        **({"REDIS_URL": REDIS_URL} if store == "redis" else {}),
        "TRUSTED_PROXIES": "127.0.0.1",
        "RATE_LIMIT_CAPACITY": "100",
        "RATE_LIMIT_REFILL_PER_SECOND": "1",
        "GRAPHQL_MAX_COST": "100",
        "RATE_LIMIT_SYNC_SECONDS": "0.05",
        "LOGIN_MAX_FAILURES": "3",
    }


@pytest.fixture(scope="module", params=["database", "redis"])
def two_servers(request: pytest.FixtureRequest, test_database_url: str) -> Any:
    """Two server processes sharing their buckets through the database (no
    other service) or through Redis."""
    store = request.param
    if store == "redis":
        try:
            redis.Redis.from_url(REDIS_URL).ping()
        except redis.RedisError:
            pytest.skip("no Redis at " + REDIS_URL)
    settings = shared_bucket_settings(store)
    with (
        running_uvicorn(test_database_url, settings) as a,
        running_uvicorn(test_database_url, settings) as b,
    ):
        yield a, b


@pytest.mark.django_db(transaction=True)
def test_two_processes_spend_from_one_bucket(two_servers: tuple[str, str]) -> None:
    address = new_address()
    headers = {"X-Forwarded-For": address, "Accept": "application/json"}
    statuses = []
    for n in range(6):  # 19 points each from a bucket of 100, alternately
        server = two_servers[n % 2]
        response = httpx.post(f"{server}/graphql/", json={"query": PAGE}, headers=headers)
        statuses.append(response.status_code)
        time.sleep(0.3)  # what one process spent reaches the other within a sync
    assert statuses == [200, 200, 200, 200, 200, 429]
    assert response.json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
    assert int(response.headers["Retry-After"]) >= 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_over_websockets_the_operation_gets_the_error(
    two_servers: tuple[str, str], protocol: str
) -> None:
    stream = "subscription { productStream(batchSize: 40) { snapshotComplete products { id } } }"
    headers = {"X-Forwarded-For": new_address()}
    async with graphql_websocket(two_servers[0], protocol, headers=headers) as ws:
        (*_, done) = await ws.collect(stream)  # 41 points
        assert done["data"]["productStream"]["snapshotComplete"] is True
        await ws.collect(stream)  # 82
        (refused,) = await ws.collect(stream)
        (error,) = refused["errors"]
        assert error["extensions"]["code"] == "RATE_LIMITED"
        # the connection goes on: cheaper operations still run
        small = "subscription { productStream(batchSize: 1) { snapshotComplete } }"
        assert (await ws.collect(small))[-1]["data"]["productStream"]["snapshotComplete"]


@pytest.mark.django_db(transaction=True)
async def test_a_stream_spends_for_every_batch(
    two_servers: tuple[str, str], product_factory: Any
) -> None:
    await asyncio.to_thread(product_factory.create_batch, 6)
    # 2 points a batch (the batch and its product): 12 for six batches; the
    # first is paid at subscribe time, a bucket of 8 pays three more at once,
    # the last two wait for 1 point a second each.
    stream = "subscription { productStream(batchSize: 1) { products { id } } }"
    headers = {"X-Forwarded-For": new_address()}
    client = httpx.AsyncClient(headers={**headers, "Accept": "application/json"})
    async with client:
        response = await client.post(
            f"{two_servers[1]}/graphql/", json={"query": "{ products(first: 45) { totalCount } }"}
        )
        assert response.status_code == 200  # a connection costs 1: 99 left
        for _ in range(5):  # 19 each: 4 left
            await client.post(f"{two_servers[1]}/graphql/", json={"query": PAGE})
    await asyncio.sleep(0.3)  # synced
    started = time.monotonic()
    async with graphql_websocket(two_servers[0], "graphql-transport-ws", headers=headers) as ws:
        batches = await ws.collect(stream)
    assert len(batches) == 6
    assert time.monotonic() - started > 3


LOGIN = """mutation($username: String!) {
  login(username: $username, password: "wrong") { errors { code } } }"""


@pytest.mark.django_db(transaction=True)
def test_failed_logins_count_in_every_process(two_servers: tuple[str, str]) -> None:
    username = f"nobody-{uuid.uuid4().hex}"
    codes = []
    with httpx.Client(headers={"X-Forwarded-For": new_address()}) as client:
        # The CSRF cookie, and the header that must repeat it, for the login.
        client.get(f"{two_servers[0]}/graphql/", headers={"Accept": "text/html"})
        headers = {"X-CSRFToken": client.cookies["csrftoken"]}
        for n in range(4):  # alternately; three failures allowed per username
            response = client.post(
                f"{two_servers[n % 2]}/graphql/",
                json={"query": LOGIN, "variables": {"username": username}},
                headers=headers,
            )
            codes.append([e["code"] for e in response.json()["data"]["login"]["errors"]])
            time.sleep(0.3)
    assert codes == [["INVALID_CREDENTIALS"]] * 3 + [["RATE_LIMITED"]]
