"""Media type negotiation of GraphQL responses over HTTP: the Accept header
decides between application/graphql-response+json and application/json."""

from collections.abc import Mapping
from typing import Any

import pytest
from django.test import Client

from api.http.media_types import GRAPHQL_RESPONSE_JSON, JSON, acceptable, response_media_type

RESPONSE_TYPE = f"{GRAPHQL_RESPONSE_JSON}; charset=utf-8"


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, JSON),
        ("", JSON),
        ("*/*", JSON),
        ("application/*", JSON),
        ("application/json", JSON),
        (GRAPHQL_RESPONSE_JSON, GRAPHQL_RESPONSE_JSON),
        (f"{GRAPHQL_RESPONSE_JSON}, {JSON};q=0.9", GRAPHQL_RESPONSE_JSON),
        (f"{JSON}, {GRAPHQL_RESPONSE_JSON}", GRAPHQL_RESPONSE_JSON),
        (f"{GRAPHQL_RESPONSE_JSON};q=0.5, {JSON}", JSON),
        (f"{JSON};q=0.5, {GRAPHQL_RESPONSE_JSON}; charset=utf-8", GRAPHQL_RESPONSE_JSON),
        ("APPLICATION/GRAPHQL-RESPONSE+JSON", GRAPHQL_RESPONSE_JSON),
        ("text/html,application/xhtml+xml,*/*;q=0.8", JSON),
        (f"*/*, {JSON};q=0", GRAPHQL_RESPONSE_JSON),
        (f"{JSON};q=0", None),
        ("image/png", None),
        (f"{JSON};q=oops", None),
        ("text/event-stream", None),
    ],
)
def test_accept_header_picks_the_media_type(accept: str | None, expected: str | None) -> None:
    assert response_media_type(accept) == expected


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        ("image/png", False),
        (f"{JSON};q=0, {GRAPHQL_RESPONSE_JSON};q=0", False),
        ("text/event-stream", True),
        ('multipart/mixed;deferSpec="20220824"', True),
        ("text/html", True),
        ("*/*", True),
    ],
)
def test_acceptable(accept: str, expected: bool) -> None:
    assert acceptable(accept) is expected


def post(client: Client, body: Mapping[str, object], accept: str) -> tuple[int, str, Any]:
    response = client.post("/graphql/", body, content_type="application/json", HTTP_ACCEPT=accept)
    return response.status_code, response["Content-Type"], response.json()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "body",
    [
        {"query": "{"},  # does not parse
        {"query": "{ nope }"},  # does not validate
        {"query": "query($n: Int) { products(first: $n) { totalCount } }", "variables": {"n": "x"}},
    ],
)
def test_request_errors_are_400_without_data_for_the_specifications_type(
    client: Client, body: dict[str, object]
) -> None:
    status, content_type, response = post(client, body, GRAPHQL_RESPONSE_JSON)
    assert (status, content_type) == (400, RESPONSE_TYPE)
    assert "data" not in response
    assert response["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED" or (
        response["errors"][0]["extensions"]["code"] == "GRAPHQL_PARSE_FAILED"
    )

    status, content_type, response = post(client, body, JSON)
    assert (status, content_type) == (200, JSON)
    assert response["data"] is None
    assert response["errors"]


@pytest.mark.django_db
def test_results_are_200_in_either_type(client: Client) -> None:
    query = {"query": "{ products(first: 1) { totalCount } }"}
    assert post(client, query, GRAPHQL_RESPONSE_JSON)[:2] == (200, RESPONSE_TYPE)
    assert post(client, query, JSON)[:2] == (200, JSON)
    # A field error is a result, not a request error: 200 with its data.
    field_error = {"query": '{ products(after: "bad") { totalCount } }'}
    status, _, response = post(client, field_error, GRAPHQL_RESPONSE_JSON)
    assert status == 200
    assert response["errors"][0]["path"] == ["products"]


@pytest.mark.django_db
def test_no_acceptable_type_is_a_406_json_error(client: Client) -> None:
    response = client.post(
        "/graphql/",
        {"query": "{ __typename }"},
        content_type="application/json",
        HTTP_ACCEPT="image/png",
    )
    assert response.status_code == 406
    assert response["Content-Type"] == JSON
    assert response.json()["errors"][0]["extensions"]["code"] == "NOT_ACCEPTABLE"
