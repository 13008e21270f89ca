"""Optimizing a queryset for rows that appear below the resolved field.

strawberry-django's optimizer plans ``only``/``select_related`` from the field
being resolved, which must return the model type (or a connection of it).
A subscription returns an envelope (``ProductBatch``) whose list of products
is one level down; this hands the optimizer that level.
"""

from typing import Any

from django.db.models import QuerySet
from graphql import GraphQLObjectType, get_named_type
from strawberry.types import Info
from strawberry_django.optimizer import (
    _generate_selection_resolve_info,
    _get_selections,
    optimize,
)


def optimize_for_subfield(queryset: QuerySet[Any], info: Info, field_name: str) -> QuerySet[Any]:
    """``queryset`` optimized for what the query selects under ``field_name``
    of the resolved field's type; unchanged if it selects nothing there."""
    raw = info._raw_info
    parent = get_named_type(raw.return_type)
    assert isinstance(parent, GraphQLObjectType)
    nodes = [
        node
        for selected in _get_selections(raw, parent).values()
        for node in selected
        if node.name.value == field_name
    ]
    if not nodes:
        return queryset
    subfield = _generate_selection_resolve_info(raw, nodes, parent.fields[field_name].type, parent)
    return optimize(queryset, subfield)
