"""Through real HTTP, against a real uvicorn process."""

import httpx
import pytest

from products.factories import ProductFactory

pytestmark = pytest.mark.django_db(transaction=True)

QUERY = """query($after: String) { products(first: 2, after: $after, orderBy: {field: PRICE, direction: DESC}) {
  totalCount edges { node { sku price discountedPrice category { name } } } pageInfo { hasNextPage endCursor } } }"""


def test_pages_through_uvicorn(uvicorn_server: str) -> None:
    for price in ["3.00", "2.00", "1.00"]:
        ProductFactory(price=price)
    with httpx.Client(base_url=uvicorn_server) as client:
        first = client.post("/graphql/", json={"query": QUERY}).json()["data"]["products"]
        assert [e["node"]["price"] for e in first["edges"]] == ["3.00", "2.00"]
        assert first["totalCount"] == 3
        after = first["pageInfo"]["endCursor"]
        # Without the trailing slash too.
        second = client.post(
            "/graphql", json={"query": QUERY, "variables": {"after": after}}
        ).json()
        assert [e["node"]["price"] for e in second["data"]["products"]["edges"]] == ["1.00"]
        assert second["data"]["products"]["pageInfo"]["hasNextPage"] is False


def test_bad_input_is_a_graphql_error_not_a_server_error(uvicorn_server: str) -> None:
    with httpx.Client(base_url=uvicorn_server) as client:
        response = client.post("/graphql/", json={"query": QUERY, "variables": {"after": "x"}})
        assert response.status_code == 200
        assert "Invalid cursor" in response.json()["errors"][0]["message"]
        assert (
            client.post(
                "/graphql/", json={"query": "{ products(first: 101) { totalCount } }"}
            ).status_code
            == 200
        )


def test_health_readiness_graphiql_and_admin(uvicorn_server: str) -> None:
    with httpx.Client(base_url=uvicorn_server) as client:
        assert client.get("/healthz").status_code == 200
        assert client.get("/readyz").json() == {"status": "ready"}
        graphiql = client.get("/graphql/", headers={"Accept": "text/html"})
        assert graphiql.status_code == 200
        assert "graphiql" in graphiql.text.lower()
        assert client.get("/admin/login/").status_code == 200


def test_admin_static_files_are_served(uvicorn_server: str) -> None:
    response = httpx.get(f"{uvicorn_server}/static/admin/css/base.css")
    assert response.status_code == 200
    assert "text/css" in response.headers["content-type"]
