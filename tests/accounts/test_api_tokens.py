"""API tokens: made by the command, stored hashed, sent as ``Authorization: Bearer``."""

import hashlib
import re
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from accounts.factories import UserFactory
from accounts.models import ApiToken
from accounts.services import create_api_token

pytestmark = pytest.mark.django_db

QUERY = {"query": "{ categories { totalCount } }"}


def make_token(*args: str) -> str:
    out = StringIO()
    call_command("create_api_token", *args, stdout=out)
    return out.getvalue().splitlines()[-1]


def post_query(client: Client, authorization: str) -> tuple[int, dict[str, Any]]:
    response = client.post(
        "/graphql/", QUERY, content_type="application/json", HTTP_AUTHORIZATION=authorization
    )
    return response.status_code, response.json()


def assert_unauthenticated(status: int, body: dict[str, Any], message: str) -> None:
    assert status == 401
    (error,) = body["errors"]
    assert error["extensions"] == {"code": "UNAUTHENTICATED"}
    assert message in error["message"]
    assert "data" not in body


def test_the_command_prints_the_token_alone_on_the_last_line_and_stores_its_hash():
    user = UserFactory.create()
    token = make_token(user.username, "--name", "deploy bot")

    assert re.fullmatch(r"cvr_[A-Za-z0-9_-]{43}", token)
    stored = ApiToken.objects.get()
    assert (stored.user, stored.name, stored.revoked) == (user, "deploy bot", False)
    assert stored.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert stored.prefix == token[:12]
    # The token itself is in no column.
    assert token not in str(ApiToken.objects.values().get())


def test_each_token_is_new():
    user = UserFactory.create()
    assert make_token(user.username) != make_token(user.username)
    assert ApiToken.objects.filter(user=user).count() == 2


def test_the_command_refuses_an_unknown_user():
    with pytest.raises(CommandError, match="No user is named 'nobody'"):
        make_token("nobody")
    assert not ApiToken.objects.exists()


def test_a_valid_token_authenticates_its_user_on_any_request(client: Client):
    token = create_api_token(UserFactory.create(staff=True)).token
    # The admin lets in only staff: the token's user is the request's user.
    assert client.get("/admin/").status_code == 302
    assert client.get("/admin/", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 200
    status, body = post_query(client, f"Bearer {token}")
    assert (status, body["data"]) == (200, {"categories": {"totalCount": 0}})


def test_a_token_records_when_it_was_last_used(client: Client):
    issued = create_api_token(UserFactory.create())
    assert issued.api_token.last_used_at is None
    post_query(client, f"Bearer {issued.token}")
    issued.api_token.refresh_from_db()
    assert issued.api_token.last_used_at is not None


@pytest.mark.parametrize(
    ("authorization", "message"),
    [
        ("Bearer cvr_" + "x" * 43, "Invalid API token."),
        ("Bearer cvr_short", "Invalid API token."),
        ("Bearer", "must be `Bearer <token>`"),
        ("Bearer ", "must be `Bearer <token>`"),
        ("Basic dXNlcjpwYXNz", "must be `Bearer <token>`"),
        ("cvr_" + "x" * 43, "must be `Bearer <token>`"),
    ],
)
def test_a_bad_or_malformed_token_is_refused_even_for_a_query(
    client: Client, authorization: str, message: str
):
    assert_unauthenticated(*post_query(client, authorization), message)


def test_a_revoked_token_is_refused(client: Client):
    issued = create_api_token(UserFactory.create(staff=True))
    ApiToken.objects.update(revoked=True)
    assert_unauthenticated(*post_query(client, f"Bearer {issued.token}"), "revoked")
    response = client.get("/admin/", HTTP_AUTHORIZATION=f"Bearer {issued.token}")
    assert response.status_code == 401


def test_a_token_of_an_inactive_user_is_refused(client: Client):
    issued = create_api_token(UserFactory.create(staff=True, is_active=False))
    assert_unauthenticated(*post_query(client, f"Bearer {issued.token}"), "inactive")


def test_the_scheme_is_case_insensitive(client: Client):
    token = create_api_token(UserFactory.create()).token
    assert post_query(client, f"bearer {token}")[0] == 200


def test_tokens_are_listed_and_revoked_in_the_admin(admin_client: Client):
    kept, revoked = (create_api_token(UserFactory.create(), name).api_token for name in ("a", "b"))
    page = admin_client.get("/admin/accounts/apitoken/")
    assert page.status_code == 200
    assert kept.prefix in page.text
    assert admin_client.get("/admin/accounts/apitoken/add/").status_code == 403

    response = admin_client.post(
        "/admin/accounts/apitoken/",
        {"action": "revoke", "_selected_action": [revoked.pk]},
    )
    assert response.status_code == 302
    assert list(ApiToken.objects.filter(revoked=True)) == [revoked]
