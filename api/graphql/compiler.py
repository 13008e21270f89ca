"""Selections of lists of objects, planned once per document for the compiled
path (api.graphql.compiled).

A selection is planned when everything in it can be read straight from a
row: loaded columns (``ColumnField``), model IDs (``GlobalIDField``),
``__typename``, plain attributes of plain types (a connection's edges, a
stream's batch: lists of leaves and of planned objects among them, and
methods that take nothing but the object) and relations to such objects
(``category { … }``), through aliases, fragments, inline fragments and
``@include``/``@skip``. Anything else (a field with
arguments or a resolver, another directive, ``@defer``) leaves the whole
selection to graphql-core: ``plan`` answers None.

Fields are collected by graphql-core's own ``collect_subfields``, so that
the plan has the response's keys in graphql-core's order, merged as it
merges them. Plans are kept per operation node (parsed documents are
cached, api.graphql.parser_cache) and values of its Boolean variables, the
only ones ``@include``/``@skip`` can read.
"""

from collections import OrderedDict
from dataclasses import dataclass
from functools import cached_property
from threading import Lock
from typing import Any

from django.db import models
from graphql import (
    GraphQLField,
    GraphQLLeafType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLSchema,
    NamedTypeNode,
    NonNullTypeNode,
    OperationDefinitionNode,
    is_leaf_type,
)
from graphql.execution.collect_fields import (
    FieldDetailsList,
    FragmentDetails,
    collect_subfields,
)
from graphql.execution.values import VariableValues
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.base import StrawberryObjectDefinition
from strawberry_django.fields.field import StrawberryDjangoField
from strawberry_django.utils.typing import get_django_definition

from api.graphql.fields import ColumnField
from api.graphql.nodes import GlobalIDField

# The directives a planned field may carry: those collecting fields applies.
_DIRECTIVES = frozenset({"include", "skip"})
_CACHED_PLANS = 1024


@dataclass(frozen=True)
class Leaf:
    key: str
    attribute: str
    type: GraphQLLeafType
    non_null: bool


@dataclass(frozen=True)
class Typename:
    key: str
    name: str


@dataclass(frozen=True)
class NodeID:
    """A model's global ID, ``base64("<Model>:<pk>")``."""

    key: str
    type_name: str
    attribute: str  # the primary key's


@dataclass(frozen=True)
class Method:
    """A plain type's leaf computed by a synchronous method of the object
    that takes no arguments (a stream batch's ``resumeToken``)."""

    key: str
    function: Any  # called with the object
    type: GraphQLLeafType
    non_null: bool


@dataclass(frozen=True)
class LeafList:
    """A plain attribute holding a list of non-null leaves."""

    key: str
    attribute: str
    type: GraphQLLeafType  # of the items
    non_null: bool


@dataclass(frozen=True)
class ObjectList:
    """A plain attribute holding a list of non-null planned objects: rows
    completed as a list field's are (model instances, or tuples)."""

    key: str
    attribute: str
    plan: "ObjectPlan"
    non_null: bool


@dataclass(frozen=True)
class Nested:
    key: str
    attribute: str
    plan: "ObjectPlan"
    non_null: bool
    # A model relation: read from the loaded related object (select_related),
    # never by a query of its own.
    relation: bool


PlannedField = Leaf | Typename | NodeID | Nested | Method | LeafList | ObjectList


@dataclass(frozen=True)
class ObjectPlan:
    type_name: str
    model: type[models.Model] | None  # None: a plain type (an edge)
    fields: tuple[PlannedField, ...]

    # Plans key the compiled functions, found again for every list and
    # every event completed: hashed once, not field by field each time.
    def __hash__(self) -> int:
        return self._hash

    @cached_property
    def _hash(self) -> int:
        return hash((self.type_name, self.model, self.fields))


@dataclass(frozen=True)
class Collecting:
    """What collecting an operation's fields reads."""

    schema: GraphQLSchema
    fragments: dict[str, FragmentDetails]
    variable_values: VariableValues
    operation: OperationDefinitionNode


class _Unplannable(Exception):
    pass


def _boolean_variables(operation: OperationDefinitionNode) -> tuple[str, ...]:
    names = []
    for definition in operation.variable_definitions or ():
        type_node = definition.type
        if isinstance(type_node, NonNullTypeNode):
            type_node = type_node.type
        if isinstance(type_node, NamedTypeNode) and type_node.name.value == "Boolean":
            names.append(definition.variable.name.value)
    return tuple(names)


class _Plans:
    def __init__(self, size: int) -> None:
        self._size = size
        # The operation rides along so that its id is not reused while kept.
        self._plans: OrderedDict[tuple[Any, ...], tuple[Any, ObjectPlan | None]] = OrderedDict()
        self._lock = Lock()

    def plan(
        self,
        collecting: Collecting,
        object_type: GraphQLObjectType,
        field_details_list: FieldDetailsList,
    ) -> ObjectPlan | None:
        operation = collecting.operation
        variables = collecting.variable_values.coerced
        key = (
            id(operation),
            object_type.name,
            *(id(details.node) for details in field_details_list),
            *(variables.get(name) for name in _boolean_variables(operation)),
        )
        with self._lock:
            if key in self._plans:
                self._plans.move_to_end(key)
                return self._plans[key][1]
        try:
            _check_nodes(field_details_list)
            planned: ObjectPlan | None = _plan_object(collecting, object_type, field_details_list)
        except _Unplannable:
            planned = None
        with self._lock:
            self._plans[key] = (operation, planned)
            if len(self._plans) > self._size:
                self._plans.popitem(last=False)
        return planned


plans = _Plans(_CACHED_PLANS)


def _strawberry_field(field: GraphQLField) -> Any:
    return (field.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)


def _model_of(object_type: GraphQLObjectType) -> type[models.Model] | None:
    definition = (object_type.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
    if not isinstance(definition, StrawberryObjectDefinition):
        raise _Unplannable
    django_definition = get_django_definition(definition.origin)
    return django_definition.model if django_definition else None


def _plan_object(
    collecting: Collecting, object_type: GraphQLObjectType, field_details_list: FieldDetailsList
) -> ObjectPlan:
    model = _model_of(object_type)
    collected = collect_subfields(
        collecting.schema,
        collecting.fragments,
        collecting.variable_values,
        collecting.operation,
        object_type,
        field_details_list,
    )
    if collected.new_defer_usages or collected.forbidden_directive_instances:
        raise _Unplannable
    fields = tuple(
        _plan_field(collecting, object_type, model, key, group)
        for key, group in collected.grouped_field_set.items()
    )
    return ObjectPlan(object_type.name, model, fields)


def _check_nodes(group: FieldDetailsList) -> None:
    """Refuses a field deferred, streamed or under fragment variables."""
    for details in group:
        if details.defer_usage is not None or details.fragment_variable_values is not None:
            raise _Unplannable
        if any(d.name.value not in _DIRECTIVES for d in details.node.directives or ()):
            raise _Unplannable


def _plan_field(
    collecting: Collecting,
    object_type: GraphQLObjectType,
    model: type[models.Model] | None,
    key: str,
    group: FieldDetailsList,
) -> PlannedField:
    _check_nodes(group)
    if any(details.node.arguments for details in group):
        raise _Unplannable
    name = group[0].node.name.value
    if name == "__typename":
        return Typename(key, object_type.name)
    field = object_type.fields.get(name)
    if field is None:
        raise _Unplannable
    definition = _strawberry_field(field)
    return_type: GraphQLOutputType = field.type
    non_null = isinstance(return_type, GraphQLNonNull)
    named = return_type.of_type if isinstance(return_type, GraphQLNonNull) else return_type
    if isinstance(definition, GlobalIDField):
        if model is None:
            raise _Unplannable
        return NodeID(key, str(model._meta.object_name), model._meta.pk.attname)
    if is_leaf_type(named):
        assert isinstance(named, GraphQLLeafType)
        if model is not None:
            if not (isinstance(definition, ColumnField) and definition.is_basic_field):
                raise _Unplannable
            return Leaf(key, str(definition.django_name), named, non_null)
        if definition is not None and definition.base_resolver is not None:
            return Method(key, _plain_method(definition), named, non_null)
        return Leaf(key, _plain_attribute(definition), named, non_null)
    if isinstance(named, GraphQLList):
        if model is not None or not isinstance(named.of_type, GraphQLNonNull):
            raise _Unplannable
        item = named.of_type.of_type
        if is_leaf_type(item):
            assert isinstance(item, GraphQLLeafType)
            return LeafList(key, _plain_attribute(definition), item, non_null)
        if not isinstance(item, GraphQLObjectType):
            raise _Unplannable
        items = _plan_object(collecting, item, group)
        return ObjectList(key, _plain_attribute(definition), items, non_null)
    if not isinstance(named, GraphQLObjectType):
        raise _Unplannable
    nested = _plan_object(collecting, named, group)
    if model is None:
        return Nested(key, _plain_attribute(definition), nested, non_null, relation=False)
    if not (
        isinstance(definition, StrawberryDjangoField)
        and definition.base_resolver is None
        and definition.is_relation
        and nested.model is not None
    ):
        raise _Unplannable
    attribute = str(definition.django_name)
    relation = model._meta.get_field(attribute)
    if not (relation.many_to_one or relation.one_to_one) or relation.related_model != nested.model:
        raise _Unplannable
    return Nested(key, attribute, nested, non_null, relation=True)


def _plain_method(definition: Any) -> Any:
    """The method behind a plain strawberry field, called with the object alone."""
    resolver = definition.base_resolver
    if (
        isinstance(definition, StrawberryDjangoField)
        or definition.extensions
        or definition.permission_classes
        or resolver.is_async
        or resolver.self_parameter is None
        or len(resolver.signature.parameters) != 1
    ):
        raise _Unplannable
    return resolver


def _plain_attribute(definition: Any) -> str:
    """The attribute of a plain strawberry field, read as it is."""
    if (
        definition is None
        or isinstance(definition, StrawberryDjangoField)
        or definition.base_resolver is not None
        or definition.extensions
        or definition.permission_classes
    ):
        raise _Unplannable
    return str(definition.python_name)
