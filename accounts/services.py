"""Writes (and the one read-and-record) of API tokens."""

from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from django.db.models import QuerySet
from django.utils import timezone

from accounts import tokens
from accounts.models import ApiToken
from accounts.tokens import InvalidToken

if TYPE_CHECKING:  # the configured user model, as django-stubs resolves it
    from django.contrib.auth.models import _User

# last_used_at is for people reading the admin, so it need not be exact:
# recording it at most once a minute keeps busy tokens from a write per request.
LAST_USED_RESOLUTION = timedelta(minutes=1)


@dataclass(frozen=True)
class IssuedToken:
    api_token: ApiToken
    token: str  # the secret itself: shown once, never stored


def create_api_token(user: "_User", name: str = "") -> IssuedToken:
    token = tokens.new_token()
    api_token = ApiToken(
        user=user,
        name=name,
        token_hash=tokens.token_hash(token),
        prefix=tokens.display_prefix(token),
    )
    api_token.full_clean()
    api_token.save()
    return IssuedToken(api_token=api_token, token=token)


def revoke_api_tokens(api_tokens: "QuerySet[ApiToken]") -> int:
    return api_tokens.filter(revoked=False).update(revoked=True)


async def authenticate_token(token: str) -> "_User":
    """The active user a valid, unrevoked token belongs to; records its use."""
    try:
        api_token = await ApiToken.objects.select_related("user").aget(
            token_hash=tokens.token_hash(token)
        )
    except ApiToken.DoesNotExist:
        raise InvalidToken("Invalid API token.") from None
    if api_token.revoked:
        raise InvalidToken("This API token has been revoked.")
    if not api_token.user.is_active:
        raise InvalidToken("This API token's user is inactive.")
    now = timezone.now()
    if api_token.last_used_at is None or api_token.last_used_at < now - LAST_USED_RESOLUTION:
        await ApiToken.objects.filter(pk=api_token.pk).aupdate(last_used_at=now)
    return api_token.user
