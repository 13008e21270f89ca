"""Mutation payloads: what went wrong with the input, as data the client can
show next to the field it concerns (``UserError``), not as a GraphQL error."""

from collections.abc import Callable, Mapping
from typing import TypeVar

import strawberry
from asgiref.sync import sync_to_async
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from strawberry.utils.str_converters import to_camel_case

T = TypeVar("T")

# Django's codes that all mean "give a value".
_REQUIRED = {"required", "blank", "null"}


@strawberry.type(description="Invalid input: which field, what is wrong, and a stable code.")
class UserError:
    field: str | None = strawberry.field(
        description="The input field as named in the operation (e.g. `discountPercent`); "
        "null when the error is about the input as a whole."
    )
    message: str
    code: str = strawberry.field(
        description="UPPER_SNAKE_CASE, e.g. REQUIRED, INVALID, UNIQUE, MIN_VALUE, MAX_VALUE, "
        "MAX_DECIMAL_PLACES, NOT_FOUND, INVALID_ID, CONFLICT."
    )


def user_errors(error: ValidationError, fields: Mapping[str, str] | None = None) -> list[UserError]:
    """``error``'s messages, one UserError each. Django names fields as the model
    does (``discount_percent``); ``fields`` renames those whose GraphQL name is
    not simply the camelCase form (``category`` → ``categoryId``)."""
    renamed = fields or {}
    by_field = (
        error.error_dict if hasattr(error, "error_dict") else {NON_FIELD_ERRORS: error.error_list}
    )
    return [
        UserError(
            field=None if name == NON_FIELD_ERRORS else renamed.get(name, to_camel_case(name)),
            message=" ".join(item.messages),
            code=_code(item.code),
        )
        for name, items in by_field.items()
        for item in items
    ]


def _code(code: str | None) -> str:
    if code in _REQUIRED:
        return "REQUIRED"
    return (code or "invalid").upper()


async def run_write(
    write: Callable[[], T], fields: Mapping[str, str] | None = None
) -> tuple[T | None, list[UserError]]:
    """Calls the service ``write`` off the event loop (on Django's thread for
    the request, where it makes its transaction); a ValidationError becomes the
    payload's errors, with the fields named as ``user_errors`` names them."""
    try:
        return await sync_to_async(write)(), []
    except ValidationError as error:
        return None, user_errors(error, fields)
