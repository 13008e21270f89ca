"""A body over GRAPHQL_MAX_BODY_BYTES, sent to a real uvicorn by real clients
over real sockets: the client reads the 413 even while it is still sending,
and the server reads no more than GRAPHQL_MAX_DISCARD_BYTES of it."""

import asyncio
import socket
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import httpx
import pytest
from django.conf import settings

pytestmark = pytest.mark.django_db(transaction=True)

MiB = 1024 * 1024
# Far over the limit, within what is discarded: the client is let finish.
BODY = 8 * MiB


def assert_payload_too_large(response: httpx.Response) -> None:
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/json"
    (error,) = response.json()["errors"]
    assert error["extensions"] == {"code": "PAYLOAD_TOO_LARGE"}
    assert str(settings.GRAPHQL_MAX_BODY_BYTES) in error["message"]


async def padding(total: int, chunk: int = 64 * 1024) -> AsyncIterator[bytes]:
    for _ in range(total // chunk):
        yield b" " * chunk


async def test_a_declared_body_over_the_limit_gets_its_413(uvicorn_server: str) -> None:
    # httpx's async client reads the answer once it has sent the body: a
    # server that closed at once would reset it first (httpx.ReadError).
    async with httpx.AsyncClient(base_url=uvicorn_server, timeout=30) as client:
        response = await client.post(
            "/graphql/",
            content=b"{" + b" " * BODY + b"}",
            headers={"Content-Type": "application/json", "X-Request-ID": "big-1"},
        )
        assert_payload_too_large(response)
        assert response.headers["x-request-id"] == "big-1"
        assert (await client.get("/healthz")).status_code == 200


async def test_a_chunked_body_over_the_limit_gets_its_413(uvicorn_server: str) -> None:
    async with httpx.AsyncClient(base_url=uvicorn_server, timeout=30) as client:
        response = await client.post(
            "/graphql/", content=padding(BODY), headers={"Content-Type": "application/json"}
        )
        assert "content-length" not in response.request.headers
        assert_payload_too_large(response)
        assert (await client.get("/healthz")).status_code == 200


def http_socket(base_url: str) -> socket.socket:
    url = urlsplit(base_url)
    return socket.create_connection((url.hostname, url.port or 80), timeout=10)


def read_until_closed(sock: socket.socket) -> bytes:
    received = b""
    while chunk := sock.recv(65536):
        received += chunk
    return received


def headers(content_length: int, *extra: str) -> bytes:
    lines = [
        "POST /graphql/ HTTP/1.1",
        "Host: 127.0.0.1",
        "Content-Type: application/json",
        f"Content-Length: {content_length}",
        *extra,
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def test_a_client_that_expects_100_continue_is_answered_before_it_sends(
    uvicorn_server: str,
) -> None:
    with http_socket(uvicorn_server) as sock:
        sock.sendall(headers(BODY, "Expect: 100-continue"))
        answer = read_until_closed(sock)  # the server closes: no body is waited for
    assert answer.startswith(b"HTTP/1.1 413 ")
    assert b"100 Continue" not in answer
    assert answer.endswith(b'"PAYLOAD_TOO_LARGE"}}]}')


def test_a_body_declared_larger_than_what_is_discarded_is_not_waited_for(
    uvicorn_server: str,
) -> None:
    with http_socket(uvicorn_server) as sock:
        sock.sendall(headers(settings.GRAPHQL_MAX_DISCARD_BYTES + 1))
        sock.sendall(b" " * 1000)
        answer = read_until_closed(sock)
    assert answer.startswith(b"HTTP/1.1 413 ")


async def test_a_client_sending_without_end_is_cut_after_the_bound(uvicorn_server: str) -> None:
    sent = 0
    endless = 1024 * MiB

    async def counted() -> AsyncIterator[bytes]:
        nonlocal sent
        async for chunk in padding(endless):
            sent += len(chunk)
            yield chunk

    async with httpx.AsyncClient(base_url=uvicorn_server, timeout=30) as client:
        async with asyncio.timeout(60):
            try:
                response = await client.post(
                    "/graphql/", content=counted(), headers={"Content-Type": "application/json"}
                )
            except httpx.TransportError:
                pass  # the connection was closed under the client: what is expected
            else:
                assert_payload_too_large(response)
        # The bound, and what the kernels' socket buffers took in besides.
        assert sent < settings.GRAPHQL_MAX_DISCARD_BYTES + 64 * MiB < endless
        assert (await client.get("/healthz")).status_code == 200
