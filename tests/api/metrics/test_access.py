"""Who may scrape: anyone, or with ``METRICS_TOKEN`` only a scraper that
sends it as a Bearer token; with ``METRICS_ENABLED=false``, no one."""

import httpx
import pytest

from tests.conftest import running_uvicorn

pytestmark = pytest.mark.django_db(transaction=True)

TOKEN = "a-scraper's-secret"


@pytest.fixture(scope="module")
def guarded(test_database_url: str):
    with running_uvicorn(test_database_url, {"METRICS_TOKEN": TOKEN}) as base_url:
        yield base_url


@pytest.mark.parametrize(
    "authorization", [None, "Bearer wrong", f"Basic {TOKEN}", "Bearer", f"Bearer {TOKEN}x"]
)
def test_a_scrape_without_the_token_is_refused_with_401_json(guarded, authorization):
    headers = {"Authorization": authorization} if authorization else {}
    response = httpx.get(f"{guarded}/metrics", headers=headers)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert "conveyor_" not in response.text


def test_a_scrape_with_the_token_gets_the_metrics(guarded):
    response = httpx.get(f"{guarded}/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    assert "conveyor_graphql_errors_total" in response.text or "# HELP conveyor_" in response.text


def test_other_methods_are_refused_with_json(guarded):
    response = httpx.post(f"{guarded}/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 405
    assert response.json()["errors"][0]["extensions"]["code"] == "METHOD_NOT_ALLOWED"


def test_switched_off_there_is_no_endpoint_and_graphql_still_answers(test_database_url):
    with running_uvicorn(test_database_url, {"METRICS_ENABLED": "false"}) as base_url:
        response = httpx.get(f"{base_url}/metrics")
        assert response.status_code == 404
        assert response.json()["errors"][0]["extensions"]["code"] == "NOT_FOUND"
        answer = httpx.post(
            f"{base_url}/graphql/",
            json={"query": "query Page { products(first: 1) { totalCount } }"},
            headers={"Accept": "application/json"},
        )
        assert answer.json()["data"]["products"]["totalCount"] >= 0
