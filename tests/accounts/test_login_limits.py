"""Failed logins, limited per username and per address: the same answers for
unknown users and wrong passwords, a lockout, its end over time, and a
success that resets the username's failures."""

import time
import uuid
from typing import Any

import pytest
from django.test import Client

from accounts.factories import UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fast_passwords")]

LOGIN = """mutation($username: String!, $password: String!) {
  login(username: $username, password: $password) { username errors { message code } } }"""


@pytest.fixture
def limits(settings: Any) -> Any:
    settings.LOGIN_MAX_FAILURES = 3
    settings.LOGIN_MAX_FAILURES_PER_ADDRESS = 5
    settings.LOGIN_FAILURE_WINDOW = 300
    settings.TRUSTED_PROXIES = ["127.0.0.1"]
    return settings


@pytest.fixture
def user() -> Any:
    user = UserFactory.create(username=f"u{uuid.uuid4().hex[:10]}")
    user.set_password("correct horse")
    user.save()
    return user


def address() -> str:
    """An address of its own for each client of a test (the buckets outlive tests)."""
    return f"2001:db8::{uuid.uuid4().hex[:4]}:{uuid.uuid4().hex[:4]}"


def login(client: Client, username: str, password: str, at: str) -> dict[str, Any]:
    response = client.post(
        "/graphql/",
        {"query": LOGIN, "variables": {"username": username, "password": password}},
        content_type="application/json",
        headers={"X-Forwarded-For": at},
    )
    assert response.status_code == 200, response.content
    result: dict[str, Any] = response.json()["data"]["login"]
    return result


def codes(result: dict[str, Any]) -> list[str]:
    return [error["code"] for error in result["errors"]]


def test_unknown_users_and_wrong_passwords_get_the_same_answers(
    client: Client, limits: Any, user: Any
) -> None:
    answers = []
    for name in (user.username, f"nobody-{uuid.uuid4().hex}"):
        here = address()
        answers.append([login(client, name, "wrong", here) for _ in range(4)])
    assert answers[0] == answers[1]
    assert [codes(a) for a in answers[0]] == [["INVALID_CREDENTIALS"]] * 3 + [["RATE_LIMITED"]]


def test_a_locked_username_refuses_even_the_right_password(
    client: Client, limits: Any, user: Any
) -> None:
    for _ in range(3):
        login(client, user.username, "wrong", address())  # from three addresses
    locked = login(client, user.username, "correct horse", address())
    assert codes(locked) == ["RATE_LIMITED"]
    assert locked["username"] is None
    assert "try again in" in locked["errors"][0]["message"]


def test_a_success_resets_the_usernames_failures(client: Client, limits: Any, user: Any) -> None:
    here = address()
    for _ in range(2):
        login(client, user.username, "wrong", here)
    assert login(client, user.username, "correct horse", here)["username"] == user.username
    for _ in range(2):  # two more failures fit again
        assert codes(login(client, user.username, "wrong", here)) == ["INVALID_CREDENTIALS"]


def test_one_address_trying_many_usernames_is_limited(client: Client, limits: Any) -> None:
    here = address()
    answers = [codes(login(client, f"guess{n}-{uuid.uuid4().hex}", "x", here)) for n in range(6)]
    assert answers == [["INVALID_CREDENTIALS"]] * 5 + [["RATE_LIMITED"]]


def test_failures_are_forgiven_over_time(client: Client, limits: Any, user: Any) -> None:
    limits.LOGIN_FAILURE_WINDOW = 1.5  # one failure forgiven every 0.5 s
    here = address()
    for _ in range(3):
        login(client, user.username, "wrong", here)
    assert codes(login(client, user.username, "correct horse", here)) == ["RATE_LIMITED"]
    time.sleep(0.6)
    assert login(client, user.username, "correct horse", here)["username"] == user.username
