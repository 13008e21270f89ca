"""Apollo Client 4's persisted-queries link against a real uvicorn."""

from pathlib import Path

import pytest

from tests.node_clients import run_node

pytestmark = pytest.mark.django_db(transaction=True)

CLIENT = Path(__file__).parent / "clients" / "apollo_persisted_queries.mjs"


def test_hash_first_then_the_document_once_then_the_hash_alone(uvicorn_server: str) -> None:
    seen = run_node(CLIENT, f"{uvicorn_server}/graphql/")
    hash_alone, with_document = seen["first"]
    assert hash_alone["sentHash"] is not None
    assert not hash_alone["sentQuery"]
    assert hash_alone["codes"] == ["PERSISTED_QUERY_NOT_FOUND"]
    # Apollo Client asks for application/graphql-response+json: a request
    # error is a 400 then, which the link reads like a 200 with errors.
    assert hash_alone["status"] == 400
    assert with_document["sentQuery"]
    assert with_document["sentHash"] == hash_alone["sentHash"]
    assert (with_document["status"], with_document["codes"]) == (200, [])
    # Another client, which never sent the document: by its hash alone.
    assert [(r["sentQuery"], r["status"], r["codes"]) for r in seen["second"]] == [(False, 200, [])]
    expected = {"products": {"__typename": "ProductConnection", "totalCount": 0}}
    assert seen["firstData"] == seen["secondData"] == expected
