"""Persisted queries over HTTP (GET and POST): Apollo's automatic persisted
queries, documents named by id, and the trusted-documents mode."""

import hashlib
from typing import Any

import orjson
import pytest
from django.test import Client

from persisted_queries.models import PersistedDocument
from persisted_queries.services import register

pytestmark = pytest.mark.django_db

QUERY = "query Count { products(first: 1) { totalCount } }"
HASH = hashlib.sha256(QUERY.encode()).hexdigest()


def persisted(sha256: str = HASH) -> dict[str, Any]:
    return {"persistedQuery": {"version": 1, "sha256Hash": sha256}}


def post(client: Client, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    response = client.post(
        "/graphql/", body, content_type="application/json", HTTP_ACCEPT="application/json"
    )
    return response.status_code, response.json()


def get(client: Client, **parameters: Any) -> tuple[int, dict[str, Any]]:
    encoded = {
        name: orjson.dumps(value).decode() if isinstance(value, dict) else value
        for name, value in parameters.items()
    }
    response = client.get("/graphql/", encoded, HTTP_ACCEPT="application/json")
    return response.status_code, response.json()


def code(body: dict[str, Any]) -> str:
    return str(body["errors"][0]["extensions"]["code"])


def test_unknown_hash_is_not_found_then_the_document_is_stored_and_named_by_hash(
    client: Client, product_factory: Any
) -> None:
    product_factory()
    status, body = post(client, {"extensions": persisted()})
    assert status == 200
    assert code(body) == "PERSISTED_QUERY_NOT_FOUND"
    assert body["errors"][0]["message"] == "PersistedQueryNotFound"

    status, body = post(client, {"query": QUERY, "extensions": persisted()})
    assert (status, body["data"]) == (200, {"products": {"totalCount": 1}})
    assert PersistedDocument.objects.get(key=HASH).text == QUERY

    assert post(client, {"extensions": persisted()})[1]["data"] == {"products": {"totalCount": 1}}
    # GET, as Apollo's link sends hashed queries with useGETForHashedQueries.
    status, body = get(client, extensions=persisted())
    assert (status, body["data"]) == (200, {"products": {"totalCount": 1}})


def test_get_with_an_unknown_hash_is_not_found(client: Client) -> None:
    status, body = get(client, extensions=persisted())
    assert status == 200
    assert code(body) == "PERSISTED_QUERY_NOT_FOUND"


def test_hash_that_is_not_the_documents_is_refused_and_nothing_stored(client: Client) -> None:
    status, body = post(client, {"query": QUERY, "extensions": persisted("0" * 64)})
    assert status == 200
    assert code(body) == "BAD_REQUEST"
    assert "not the SHA-256 of `query`" in body["errors"][0]["message"]
    assert not PersistedDocument.objects.exists()


def test_hits_cost_no_query_after_the_first(client: Client, queries: list[str]) -> None:
    post(client, {"query": QUERY, "extensions": persisted()})
    post(client, {"extensions": persisted()})
    queries.clear()
    post(client, {"extensions": persisted()})
    assert not [sql for sql in queries if "persisted_queries" in sql]


@pytest.mark.parametrize(
    "name", [{"documentId": "relay-7"}, {"doc_id": "relay-7"}, {"id": "relay-7"}]
)
def test_documents_named_by_relays_and_codegens_parameters(
    client: Client, name: dict[str, str]
) -> None:
    register({"relay-7": QUERY})
    assert post(client, name)[1]["data"] == {"products": {"totalCount": 0}}
    assert get(client, **name)[1]["data"] == {"products": {"totalCount": 0}}


def test_codegens_prefixed_hash_names_a_document_by_its_sha256(client: Client) -> None:
    register({"any-key": QUERY})
    body = post(client, {"documentId": f"sha256:{HASH}"})[1]
    assert body["data"] == {"products": {"totalCount": 0}}


def test_unknown_document_id_is_not_found(client: Client) -> None:
    assert code(post(client, {"documentId": "nope"})[1]) == "PERSISTED_QUERY_NOT_FOUND"


@pytest.mark.parametrize(
    ("extensions", "message"),
    [
        ({"persistedQuery": "x"}, "`version: 1`"),
        ({"persistedQuery": {"version": 2, "sha256Hash": HASH}}, "`version: 1`"),
        ({"persistedQuery": {"version": 1}}, "64 lowercase hexadecimal"),
        ({"persistedQuery": {"version": 1, "sha256Hash": "abc"}}, "64 lowercase hexadecimal"),
        ({"persistedQuery": {"version": 1, "sha256Hash": HASH.upper()}}, "hexadecimal"),
        ({"documentId": 7}, "non-empty string"),
        ({"documentId": ""}, "non-empty string"),
    ],
)
def test_bad_persisted_query_extensions_are_clear_errors(
    client: Client, extensions: dict[str, Any], message: str
) -> None:
    status, body = post(client, {"query": QUERY, "extensions": extensions})
    assert status == 200
    assert code(body) == "BAD_REQUEST"
    assert message in body["errors"][0]["message"]


def test_bad_document_id_parameter_is_a_clear_error(client: Client) -> None:
    status, body = post(client, {"documentId": ["x"]})
    assert (status, code(body)) == (200, "BAD_REQUEST")


def test_request_error_for_the_specifications_media_type(client: Client) -> None:
    response = client.post(
        "/graphql/",
        {"extensions": persisted()},
        content_type="application/json",
        HTTP_ACCEPT="application/graphql-response+json",
    )
    assert response.status_code == 400
    assert "data" not in response.json()
    assert code(response.json()) == "PERSISTED_QUERY_NOT_FOUND"


class TestTrustedDocumentsOnly:
    @pytest.fixture(autouse=True)
    def _trusted(self, settings: Any) -> None:
        settings.GRAPHQL_TRUSTED_DOCUMENTS_ONLY = True

    def test_registered_documents_run_by_id_hash_or_text(self, client: Client) -> None:
        register({"relay-7": QUERY})
        expected = {"products": {"totalCount": 0}}
        assert post(client, {"doc_id": "relay-7"})[1]["data"] == expected
        assert post(client, {"extensions": persisted()})[1]["data"] == expected
        assert post(client, {"query": QUERY})[1]["data"] == expected
        assert post(client, {"query": QUERY, "extensions": persisted()})[1]["data"] == expected

    def test_any_other_document_is_refused(self, client: Client) -> None:
        status, body = post(client, {"query": "{ products { totalCount } }"})
        assert (status, code(body)) == (200, "PERSISTED_QUERY_NOT_ALLOWED")
        assert body["data"] is None

    def test_automatic_persisted_queries_are_not_learnt(self, client: Client) -> None:
        assert code(post(client, {"extensions": persisted()})[1]) == "PERSISTED_QUERY_NOT_FOUND"
        body = post(client, {"query": QUERY, "extensions": persisted()})[1]
        assert code(body) == "PERSISTED_QUERY_NOT_ALLOWED"
        assert not PersistedDocument.objects.exists()

    def test_documents_learnt_before_are_not_trusted(self, client: Client, settings: Any) -> None:
        settings.GRAPHQL_TRUSTED_DOCUMENTS_ONLY = False
        post(client, {"query": QUERY, "extensions": persisted()})
        settings.GRAPHQL_TRUSTED_DOCUMENTS_ONLY = True
        assert code(post(client, {"extensions": persisted()})[1]) == "PERSISTED_QUERY_NOT_FOUND"
        assert code(post(client, {"query": QUERY})[1]) == "PERSISTED_QUERY_NOT_ALLOWED"
