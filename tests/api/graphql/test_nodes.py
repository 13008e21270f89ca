"""Node types: their global IDs are made from their model's name."""

from strawberry.types.base import StrawberryObjectDefinition
from strawberry_django.utils.typing import get_django_definition

from api.graphql.nodes import ModelNode
from api.schema import schema


def test_every_node_type_is_named_after_its_model():
    node_types = [
        definition
        for converted in schema.schema_converter.type_map.values()
        if isinstance(definition := converted.definition, StrawberryObjectDefinition)
        and not definition.is_interface
        and issubclass(definition.origin, ModelNode)
    ]
    assert {d.name for d in node_types} == {"Product", "Category"}
    for node_type in node_types:
        django_definition = get_django_definition(node_type.origin)
        assert django_definition is not None
        assert node_type.name == django_definition.model._meta.object_name
