"""``node`` and ``nodes``: any object of the schema by its global ID, one query
per type asked for, whatever the number of IDs."""

from collections import defaultdict
from typing import Any

import strawberry
from django.db import models
from strawberry import relay
from strawberry.types import Info
from strawberry.types.base import get_object_definition
from strawberry.types.field import StrawberryField
from strawberry_django.optimizer import optimize
from strawberry_django.utils.typing import get_django_definition

from api.graphql.ids import decode_global_id, global_id, parse_pk

_RELAY_ID_RESOLVER = next(
    field.base_resolver
    for field in get_object_definition(relay.Node, strict=True).fields
    if field.python_name == "_id"
)


class GlobalIDField(StrawberryField):
    """``id`` of a model's node, ``base64("<Model>:<pk>")``, made without the
    resolver machinery (an ``Info``, argument parsing) that relay's own ``id``
    resolver goes through: a quarter of a streamed product's cost. The type is
    named after its model (a test holds every node type to that)."""

    @property
    def is_basic_field(self) -> bool:
        return True

    def get_result(
        self, source: Any, info: Info | None, args: list[Any], kwargs: dict[str, Any]
    ) -> Any:
        return global_id(type(source), source.pk)


class ModelNode(relay.Node):
    """A Node whose ID is its model's primary key."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # Each type gets its own field, declared before strawberry reads the class.
        cls.__annotations__["_id"] = relay.GlobalID
        cls._id = GlobalIDField(  # type: ignore[method-assign]
            python_name="_id",
            graphql_name="id",
            description="The Globally Unique ID of this object",
            # relay's resolver stays declared: strawberry-django's optimizer
            # knows from it that the field needs the primary key.
            base_resolver=_RELAY_ID_RESOLVER,
        )

    @classmethod
    def resolve_id_attr(cls) -> str:
        # Named once, this spares strawberry a scan of the type's annotations
        # (raising and catching an error) for every node it resolves.
        return "pk"


def _model_of(info: Info, type_name: str) -> type[models.Model] | None:
    definition = info.schema.get_type_by_name(type_name)
    origin = getattr(definition, "origin", None)
    if origin is None or not issubclass(origin, relay.Node):
        return None
    django_definition = get_django_definition(origin)
    return django_definition.model if django_definition else None


async def load_nodes(info: Info, global_ids: list[strawberry.ID]) -> list[Any]:
    wanted: dict[type[models.Model], dict[str, Any]] = defaultdict(dict)
    for requested in global_ids:
        type_name, node_id = decode_global_id(requested)
        model = _model_of(info, type_name)
        if model is not None:
            wanted[model][requested] = parse_pk(model, node_id, requested)

    found: dict[str, Any] = {}
    for model, pks in wanted.items():
        rows = optimize(model._default_manager.filter(pk__in=pks.values()), info)
        by_pk = {row.pk: row async for row in rows.aiterator()}
        found.update({gid: by_pk.get(pk) for gid, pk in pks.items()})
    return [found.get(requested) for requested in global_ids]


@strawberry.type
class NodeQuery:
    @strawberry.field(description="Any object by its global ID; null if none has it.")
    async def node(self, info: Info, id: strawberry.ID) -> relay.Node | None:
        (row,) = await load_nodes(info, [id])
        return row  # type: ignore[no-any-return]

    @strawberry.field(
        description="Objects by their global IDs, in the same order; null where none."
    )
    async def nodes(self, info: Info, ids: list[strawberry.ID]) -> list[relay.Node | None]:
        return await load_nodes(info, ids)
