import secrets
import time

import httpx
import pytest

from tests.conftest import running_uvicorn


def test_readyz_says_503_promptly_when_the_database_is_unreachable() -> None:
    # Nothing listens on port 1: the pool cannot connect.
    with running_uvicorn("postgres://postgres@127.0.0.1:1/none") as base_url:
        started = time.monotonic()
        response = httpx.get(f"{base_url}/readyz", timeout=30)
        assert response.status_code == 503
        assert time.monotonic() - started < 5  # READINESS_TIMEOUT, not the pool's timeout
        assert httpx.get(f"{base_url}/healthz").status_code == 200


@pytest.mark.django_db
def test_probes_answer_plain_http_by_any_host_under_the_production_settings(
    test_database_url: str,
) -> None:
    production = {
        "DJANGO_ENV": "production",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "api.example.com",
    }
    with running_uvicorn(test_database_url, settings=production) as base_url:
        # As the image's HEALTHCHECK asks: plain HTTP, to 127.0.0.1.
        assert httpx.get(f"{base_url}/healthz").json() == {"status": "ok"}
        assert httpx.get(f"{base_url}/readyz").json() == {"status": "ready"}
        response = httpx.get(f"{base_url}/healthz", headers={"Host": "10.0.0.7:8000"})
        assert response.status_code == 200
        # Everything else stays behind the HTTPS redirect and the host check.
        assert httpx.get(f"{base_url}/graphql/").status_code == 400
        redirect = httpx.get(f"{base_url}/graphql/", headers={"Host": "api.example.com"})
        assert redirect.status_code == 301
        assert redirect.headers["Location"] == "https://api.example.com/graphql/"
