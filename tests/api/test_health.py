import time

import httpx

from tests.conftest import running_uvicorn


def test_readyz_says_503_promptly_when_the_database_is_unreachable() -> None:
    # Nothing listens on port 1: the pool cannot connect.
    with running_uvicorn("postgres://postgres@127.0.0.1:1/none") as base_url:
        started = time.monotonic()
        response = httpx.get(f"{base_url}/readyz", timeout=30)
        assert response.status_code == 503
        assert time.monotonic() - started < 5  # READINESS_TIMEOUT, not the pool's timeout
        assert httpx.get(f"{base_url}/healthz").status_code == 200
