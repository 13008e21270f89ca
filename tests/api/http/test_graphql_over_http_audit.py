"""The GraphQL-over-HTTP specification, as its reference audit checks it:
graphql-http's ``auditServer`` run by Node against a real uvicorn."""

from pathlib import Path

import pytest

from tests.node_clients import run_node

pytestmark = pytest.mark.django_db(transaction=True)

AUDIT = Path(__file__).parent / "clients" / "audit.mjs"


def test_every_audit_passes_without_a_warning(uvicorn_server: str) -> None:
    results = run_node(AUDIT, f"{uvicorn_server}/graphql/")
    assert len(results) >= 61
    failing = [
        f"{result['status']} {result['id']} {result['name']}: {result['reason']}"
        for result in results
        if result["status"] != "ok"
    ]
    assert failing == [], "\n".join(failing)
