"""Cookie sessions through the real Django stack with CSRF checks on, as a browser meets them."""

from typing import Any

import pytest
from django.contrib.auth import get_user
from django.test import Client

from accounts.factories import UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fast_passwords")]

LOGIN = """mutation($username: String!, $password: String!) {
  login(username: $username, password: $password) {
    username isStaff errors { field message code }
  }
}"""
LOGOUT = "mutation { logout }"


@pytest.fixture
def browser() -> Client:
    return Client(enforce_csrf_checks=True)


def csrf_token(browser: Client) -> str:
    """What a browser gets by opening GraphiQL."""
    page = browser.get("/graphql/", HTTP_ACCEPT="text/html")
    assert page.status_code == 200
    return str(browser.cookies["csrftoken"].value)


def post(browser: Client, query: str, csrf: str | None = None, **variables: Any) -> dict[str, Any]:
    headers = {"X-CSRFToken": csrf} if csrf else {}
    response = browser.post(
        "/graphql/",
        {"query": query, "variables": variables},
        content_type="application/json",
        headers=headers,
    )
    assert response.status_code == 200, response.content
    body: dict[str, Any] = response.json()
    return body


def assert_csrf_forbidden(body: dict[str, Any]) -> None:
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "FORBIDDEN"
    assert error["message"].startswith("CSRF failed")
    assert body["data"] is None


@pytest.fixture
def staff() -> Any:
    user = UserFactory.create(staff=True)
    user.set_password("correct horse")
    user.save()
    return user


def logged_in_username(browser: Client) -> str | None:
    return get_user(browser).get_username() or None


def test_queries_need_no_csrf_token(browser: Client):
    assert post(browser, "{ categories { totalCount } }")["data"] == {
        "categories": {"totalCount": 0}
    }


def test_login_without_a_csrf_token_is_forbidden(browser: Client, staff):
    body = post(browser, LOGIN, username=staff.username, password="correct horse")
    assert_csrf_forbidden(body)
    assert logged_in_username(browser) is None


def test_login_with_a_wrong_csrf_token_is_forbidden(browser: Client, staff):
    csrf_token(browser)
    body = post(browser, LOGIN, "x" * 32, username=staff.username, password="correct horse")
    assert_csrf_forbidden(body)
    assert logged_in_username(browser) is None


def test_login_from_a_foreign_origin_is_forbidden(browser: Client, staff):
    csrf = csrf_token(browser)
    response = browser.post(
        "/graphql/",
        {"query": LOGIN, "variables": {"username": staff.username, "password": "correct horse"}},
        content_type="application/json",
        headers={"X-CSRFToken": csrf, "Origin": "https://evil.example"},
    )
    assert_csrf_forbidden(response.json())


def test_login_with_the_csrf_token_starts_a_session(browser: Client, staff):
    body = post(
        browser, LOGIN, csrf_token(browser), username=staff.username, password="correct horse"
    )
    assert body["data"] == {"login": {"username": staff.username, "isStaff": True, "errors": []}}
    assert logged_in_username(browser) == staff.username


def test_login_of_a_user_who_is_not_staff(browser: Client):
    user = UserFactory.create()
    user.set_password("pw")
    user.save()
    body = post(browser, LOGIN, csrf_token(browser), username=user.username, password="pw")
    assert body["data"]["login"] == {"username": user.username, "isStaff": False, "errors": []}


@pytest.mark.parametrize(
    ("username", "password"), [("nobody", "correct horse"), (None, "wrong"), (None, "")]
)
def test_wrong_credentials_are_a_payload_error(browser: Client, staff, username, password):
    body = post(
        browser, LOGIN, csrf_token(browser), username=username or staff.username, password=password
    )
    assert "errors" not in body
    assert body["data"] == {
        "login": {
            "username": None,
            "isStaff": False,
            "errors": [
                {
                    "field": None,
                    "message": "Wrong username or password.",
                    "code": "INVALID_CREDENTIALS",
                }
            ],
        }
    }
    assert logged_in_username(browser) is None


def test_an_inactive_user_cannot_log_in(browser: Client, staff):
    staff.is_active = False
    staff.save()
    body = post(
        browser, LOGIN, csrf_token(browser), username=staff.username, password="correct horse"
    )
    assert body["data"]["login"]["errors"][0]["code"] == "INVALID_CREDENTIALS"


def test_logout_needs_the_csrf_token_then_ends_the_session(browser: Client, staff):
    post(browser, LOGIN, csrf_token(browser), username=staff.username, password="correct horse")
    # Logging in rotates the token: the browser reads the new cookie.
    csrf = str(browser.cookies["csrftoken"].value)

    assert_csrf_forbidden(post(browser, LOGOUT))
    assert logged_in_username(browser) == staff.username

    assert post(browser, LOGOUT, csrf)["data"] == {"logout": True}
    assert logged_in_username(browser) is None


def test_logout_without_a_session_is_fine(browser: Client):
    assert post(browser, LOGOUT, csrf_token(browser))["data"] == {"logout": True}


def test_a_staff_session_authorises_mutations_with_the_csrf_token(browser: Client, staff):
    post(browser, LOGIN, csrf_token(browser), username=staff.username, password="correct horse")
    csrf = str(browser.cookies["csrftoken"].value)
    create = 'mutation { createCategory(name: "Lamps") { category { slug } errors { code } } }'
    assert post(browser, create, csrf)["data"] == {
        "createCategory": {"category": {"slug": "lamps"}, "errors": []}
    }
