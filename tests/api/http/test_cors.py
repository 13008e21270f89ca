"""Browsers may call the API from the origins of CORS_ALLOWED_ORIGINS alone."""

from typing import Any

import pytest
from django.test import Client

ALLOWED = "https://shop.example.com"
OTHER = "https://evil.example.net"


@pytest.fixture(autouse=True)
def allowed_origins(settings: Any) -> None:
    settings.CORS_ALLOWED_ORIGINS = [ALLOWED]


def preflight(client: Client, origin: str) -> Any:
    return client.options(
        "/graphql/",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type, x-request-id",
        },
    )


def post(client: Client, origin: str) -> Any:
    return client.post(
        "/graphql/",
        {"query": "{ __typename }"},
        content_type="application/json",
        headers={"Origin": origin},
    )


def test_an_allowed_origin_is_allowed(client: Client, db: None) -> None:
    response = preflight(client, ALLOWED)
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == ALLOWED
    assert "x-request-id" in response["Access-Control-Allow-Headers"]
    answer = post(client, ALLOWED)
    assert answer["Access-Control-Allow-Origin"] == ALLOWED
    assert answer["Access-Control-Expose-Headers"] == "X-Request-ID"


def test_another_origin_is_not(client: Client, db: None) -> None:
    assert "Access-Control-Allow-Origin" not in preflight(client, OTHER)
    assert "Access-Control-Allow-Origin" not in post(client, OTHER)
