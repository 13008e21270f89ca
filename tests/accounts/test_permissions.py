"""Who may run a mutation, as a client without credentials meets it: told
that mutations are for staff and how to authenticate, not asked for a CSRF
token it has no use for. CSRF is checked where a session cookie is sent, and
for login always."""

from typing import Any

import httpx
import pytest
from django.conf import settings
from django.test import Client

from accounts.factories import UserFactory
from accounts.permissions import ANONYMOUS

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fast_passwords")]

CREATE = 'mutation { createCategory(name: "Lamps") { category { slug } errors { code } } }'
LOGIN = 'mutation { login(username: "someone", password: "pw") { username errors { code } } }'
LOGOUT = "mutation { logout }"


@pytest.fixture
def browser() -> Client:
    return Client(enforce_csrf_checks=True)


def post(client: Client, query: str) -> dict[str, Any]:
    response = client.post("/graphql/", {"query": query}, content_type="application/json")
    assert response.status_code == 200, response.content
    body: dict[str, Any] = response.json()
    return body


def forbidden(body: dict[str, Any]) -> str:
    (error,) = body["errors"]
    assert error["extensions"] == {"code": "FORBIDDEN"}
    assert body["data"] is None
    message: str = error["message"]
    return message


def test_a_mutation_without_any_cookie_is_told_how_to_authenticate(browser: Client) -> None:
    message = forbidden(post(browser, CREATE))
    assert message == ANONYMOUS
    assert "staff" in message
    assert "Authorization: Bearer" in message
    assert "login" in message


def test_so_is_one_sent_by_a_plain_http_client(uvicorn_server: str) -> None:
    response = httpx.post(f"{uvicorn_server}/graphql/", json={"query": CREATE})
    assert response.status_code == 200
    assert forbidden(response.json()) == ANONYMOUS


def test_a_mutation_with_a_session_cookie_must_pass_the_csrf_check(browser: Client) -> None:
    # Even a session that has expired: the cookie is what a forger rides on.
    browser.cookies[settings.SESSION_COOKIE_NAME] = "expired-or-forged"
    assert forbidden(post(browser, CREATE)) == "CSRF failed: CSRF cookie not set."


def test_login_is_csrf_checked_without_a_session_cookie(browser: Client) -> None:
    assert forbidden(post(browser, LOGIN)) == "CSRF failed: CSRF cookie not set."


def test_logout_without_a_session_cookie_has_nothing_to_check(browser: Client) -> None:
    assert post(browser, LOGOUT)["data"] == {"logout": True}


def test_a_session_that_is_not_staff_is_told_so(browser: Client) -> None:
    browser.force_login(UserFactory.create())
    page = browser.get("/graphql/", HTTP_ACCEPT="text/html")  # sets the CSRF cookie
    assert page.status_code == 200
    response = browser.post(
        "/graphql/",
        {"query": CREATE},
        content_type="application/json",
        headers={"X-CSRFToken": browser.cookies["csrftoken"].value},
    )
    assert forbidden(response.json()) == "Only staff users may do this."
