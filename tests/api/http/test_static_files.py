"""Static files as uvicorn serves them (api/http/static_files.py)."""

import httpx

GRAPHIQL_JS = "/static/graphiql/graphiql@3.8.3/graphiql.min.js"


def test_a_file_whose_url_names_its_version_is_cached_for_a_year(uvicorn_server: str) -> None:
    response = httpx.get(f"{uvicorn_server}{GRAPHIQL_JS}")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/javascript"
    assert response.headers["cache-control"] == "public, max-age=31536000, immutable"


def test_the_others_are_revalidated(uvicorn_server: str) -> None:
    url = f"{uvicorn_server}/static/admin/css/base.css"
    response = httpx.get(url)
    assert response.status_code == 200
    assert "cache-control" not in response.headers
    modified = {"If-Modified-Since": response.headers["last-modified"]}
    assert httpx.get(url, headers=modified).status_code == 304
