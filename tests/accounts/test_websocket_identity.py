"""Who is asking on a websocket, against a real uvicorn: the token in
``connection_init``, else the session cookie of the handshake."""

from typing import Any

import httpx
import pytest
from django.test import Client
from websockets.exceptions import InvalidStatus

from accounts.factories import UserFactory
from accounts.models import ApiToken
from accounts.permissions import ANONYMOUS, NOT_STAFF
from accounts.services import create_api_token, revoke_api_tokens
from tests.graphql_ws import PROTOCOLS, graphql_websocket, refused_connection

pytestmark = pytest.mark.django_db(transaction=True)

TRANSPORT_WS = "graphql-transport-ws"
CREATE = 'mutation { createCategory(name: "Lamps") { category { slug } errors { code } } }'
CREATED = [{"data": {"createCategory": {"category": {"slug": "lamps"}, "errors": []}}}]


def bearer(**user: Any) -> dict[str, str]:
    return {"Authorization": f"Bearer {create_api_token(UserFactory.create(**user)).token}"}


@pytest.fixture
def staff_token(transactional_db) -> dict[str, str]:
    return bearer(staff=True)


@pytest.fixture
def user_token(transactional_db) -> dict[str, str]:
    return bearer()


@pytest.fixture
def revoked_token(transactional_db) -> dict[str, str]:
    authorization = bearer(staff=True)
    revoke_api_tokens(ApiToken.objects.all())
    return authorization


@pytest.fixture
def staff_cookie(transactional_db) -> str:
    client = Client()
    client.force_login(UserFactory.create(staff=True))
    return f"sessionid={client.cookies['sessionid'].value}"


async def category_slugs(base_url: str) -> list[str]:
    """Read through the server: an ORM call here would leave a connection open
    on asgiref's thread, and the test database could not be dropped."""
    query = "{ categories { edges { node { slug } } } }"
    async with httpx.AsyncClient(base_url=base_url) as client:
        body = (await client.post("/graphql/", json={"query": query})).json()
    return [edge["node"]["slug"] for edge in body["data"]["categories"]["edges"]]


async def create_category(base_url: str, **connection: Any) -> list[dict[str, Any]]:
    async with graphql_websocket(base_url, TRANSPORT_WS, **connection) as socket:
        # Every payload carries extensions.cost beside the result compared here.
        return [without_extensions(payload) for payload in await socket.collect(CREATE)]


def without_extensions(payload: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in payload.items() if key != "extensions"}


def assert_forbidden(payloads: list[dict[str, Any]], message: str = NOT_STAFF) -> None:
    ((error,),) = (payload["errors"] for payload in payloads)
    assert error["extensions"]["code"] == "FORBIDDEN"
    assert error["message"] == message


async def test_a_staff_token_in_connection_init_may_write(uvicorn_server, staff_token):
    assert await create_category(uvicorn_server, init_payload=staff_token) == CREATED
    assert await category_slugs(uvicorn_server) == ["lamps"]


async def test_an_anonymous_connection_may_read_but_not_write(uvicorn_server, transactional_db):
    assert_forbidden(await create_category(uvicorn_server), ANONYMOUS)
    async with graphql_websocket(uvicorn_server, TRANSPORT_WS) as socket:
        ((payload,),) = [await socket.collect("{ categories { totalCount } }")]
        assert without_extensions(payload) == {"data": {"categories": {"totalCount": 0}}}
    assert await category_slugs(uvicorn_server) == []


async def test_a_token_of_a_user_who_is_not_staff_may_not_write(uvicorn_server, user_token):
    assert_forbidden(await create_category(uvicorn_server, init_payload=user_token))
    assert await category_slugs(uvicorn_server) == []


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize(
    "authorization", ["Bearer cvr_" + "x" * 43, "Bearer short", "Basic dXNlcjpwYXNz", None]
)
async def test_a_bad_token_closes_the_socket_with_4403(
    uvicorn_server, transactional_db, protocol, authorization
):
    code, messages = await refused_connection(
        uvicorn_server, protocol, {"Authorization": authorization}
    )
    assert code == 4403
    assert "connection_ack" not in [message["type"] for message in messages]


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_a_revoked_token_closes_the_socket_with_4403(uvicorn_server, protocol, revoked_token):
    code, messages = await refused_connection(uvicorn_server, protocol, revoked_token)
    assert code == 4403
    assert "connection_ack" not in [message["type"] for message in messages]


async def test_the_session_cookie_counts(uvicorn_server, staff_cookie):
    payloads = await create_category(uvicorn_server, headers={"Cookie": staff_cookie})
    assert payloads == CREATED


async def test_a_session_cookie_from_another_origin_is_refused(uvicorn_server, staff_cookie):
    # A page elsewhere cannot act with the user's cookie (cross-site websocket hijacking).
    foreign = {"Cookie": staff_cookie, "Origin": "https://evil.example"}
    with pytest.raises(InvalidStatus, match="403"):
        await create_category(uvicorn_server, headers=foreign)

    same = {"Cookie": staff_cookie, "Origin": uvicorn_server}
    assert await create_category(uvicorn_server, headers=same) == CREATED


async def test_a_token_outranks_the_session(uvicorn_server, user_token, staff_cookie):
    connection = {"init_payload": user_token, "headers": {"Cookie": staff_cookie}}
    assert_forbidden(await create_category(uvicorn_server, **connection))
