"""Relay global IDs: base64("Product:42")."""

from collections.abc import Iterable
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models
from strawberry import relay

from api.graphql.errors import InvalidGlobalID


def decode_global_id(value: str) -> tuple[str, str]:
    try:
        global_id = relay.GlobalID.from_id(value)
    except Exception:
        raise InvalidGlobalID(f"{value!r} is not a valid ID.") from None
    return global_id.type_name, global_id.node_id


# Primary keys are 64-bit (BigAutoField): a larger number names no row, and
# the database would refuse it with an error of its own.
MAX_PK = 2**63 - 1


def parse_pk(model: type[models.Model], node_id: str, global_id: str) -> Any:
    try:
        pk = model._meta.pk.to_python(node_id)
    except ValidationError:
        pk = None
    if pk is None or (isinstance(pk, int) and not 0 < pk <= MAX_PK):
        raise InvalidGlobalID(f"{global_id!r} is not a valid {model.__name__} ID.")
    return pk


def pks_of_type(global_ids: Iterable[str], type_name: str, model: type[models.Model]) -> list[Any]:
    """Primary keys of the IDs naming ``type_name``; IDs of other types name no
    such row, so they are left out (a filter on them matches nothing)."""
    pks = []
    for global_id in global_ids:
        kind, node_id = decode_global_id(global_id)
        if kind == type_name:
            pks.append(parse_pk(model, node_id, global_id))
    return pks


def global_id(model: type[models.Model], pk: Any) -> str:
    return relay.to_base64(str(model._meta.object_name), pk)


def input_pk(global_id: str, model: type[models.Model], *, field: str) -> Any:
    """The primary key of the ``model`` row an input's ID names, for input
    validated as a whole (mutations): a ValidationError on ``field`` when the
    ID is malformed (``invalid_id``) or names another type (``not_found``)."""
    try:
        type_name, node_id = decode_global_id(global_id)
        if type_name != model.__name__:
            message = f"{global_id!r} is not the ID of a {model.__name__}."
            raise ValidationError({field: ValidationError(message, code="not_found")})
        return parse_pk(model, node_id, global_id)
    except InvalidGlobalID as error:
        raise ValidationError({field: ValidationError(error.message, code="invalid_id")}) from None
