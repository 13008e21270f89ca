"""What a GraphQL document costs, computed from its syntax tree before it runs.

GitHub's and Shopify's rule: every object a field can return counts 1,
multiplied by the size of every list above it whose size the document sets:

- a connection (a field with ``first``/``last``) multiplies its list
  fields (``edges``) and all beneath them by ``first``, else ``last``, else
  the default page size; its ``pageInfo`` is one object;
- ``productStream`` multiplies its batch's list fields (``products``) by
  ``batchSize`` (one batch: a stream pays again for every batch it sends);
- ``nodes(ids:)`` counts, and multiplies all beneath it, by the number of ids.

Scalars cost nothing. Fragments, inline fragments and aliases count for
every place they are selected at, ``@include``/``@skip`` are honoured, and
variables (with their defaults) are read as the executor will coerce them.
"""

from typing import Any

from django.conf import settings
from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLField,
    GraphQLIncludeDirective,
    GraphQLList,
    GraphQLNamedType,
    GraphQLSchema,
    GraphQLSkipDirective,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    get_named_type,
    get_nullable_type,
    is_composite_type,
)
from graphql.execution.values import (
    VariableValues,
    get_argument_values,
    get_directive_values,
    get_variable_values,
)

# The arguments that set how many items a field's lists hold.
PAGE_ARGUMENTS = ("first", "last")
BATCH_ARGUMENT = "batchSize"
IDS_ARGUMENT = "ids"


class CostUnknown(Exception):
    """The document cannot be costed (its variables do not coerce, or it
    names no operation it holds): the executor reports why."""


def operation_cost(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation_name: str | None,
    variables: dict[str, Any] | None,
) -> int:
    operation = _operation(document, operation_name)
    coerced = get_variable_values(schema, operation.variable_definitions or (), variables or {})
    if isinstance(coerced, list):  # errors
        raise CostUnknown
    root = schema.get_root_type(operation.operation)
    if root is None:
        raise CostUnknown
    fragments = {
        definition.name.value: definition
        for definition in document.definitions
        if isinstance(definition, FragmentDefinitionNode)
    }
    return _Costing(schema, fragments, coerced).selection(root, operation.selection_set, 1, 1)


def _operation(document: DocumentNode, name: str | None) -> OperationDefinitionNode:
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    for operation in operations:
        if name is None and len(operations) == 1:
            return operation
        if operation.name is not None and operation.name.value == name:
            return operation
    raise CostUnknown


class _Costing:
    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: dict[str, FragmentDefinitionNode],
        variables: VariableValues,
    ) -> None:
        self.schema = schema
        self.fragments = fragments
        self.variables = variables

    def selection(
        self, parent: GraphQLNamedType, selection_set: SelectionSetNode, times: int, lists: int
    ) -> int:
        """The cost of a selection on ``parent`` objects, ``times`` of them;
        its list fields hold ``lists`` times as many."""
        total = 0
        for node in selection_set.selections:
            if not self._included(node):
                continue
            if isinstance(node, FieldNode):
                total += self.field(parent, node, times, lists)
            elif isinstance(node, InlineFragmentNode):
                condition = node.type_condition
                on = self.schema.get_type(condition.name.value) if condition else parent
                total += self.selection(on or parent, node.selection_set, times, lists)
            elif isinstance(node, FragmentSpreadNode):
                fragment = self.fragments[node.name.value]
                on = self.schema.get_type(fragment.type_condition.name.value)
                total += self.selection(on or parent, fragment.selection_set, times, lists)
        return total

    def field(self, parent: GraphQLNamedType, node: FieldNode, times: int, lists: int) -> int:
        definition = _field_definition(parent, node.name.value)
        if definition is None or node.selection_set is None:
            return 0  # a scalar, or __typename
        returned = get_named_type(definition.type)
        if not is_composite_type(returned):
            return 0
        if isinstance(get_nullable_type(definition.type), GraphQLList):
            times *= lists
        arguments = get_argument_values(definition, node, self.variables)
        ids = arguments.get(IDS_ARGUMENT)
        if isinstance(ids, list) and isinstance(get_nullable_type(definition.type), GraphQLList):
            times *= len(ids)
        inner = _list_size(definition, arguments)
        return times + self.selection(returned, node.selection_set, times, inner)

    def _included(self, node: Any) -> bool:
        skip = get_directive_values(GraphQLSkipDirective, node, self.variables)
        if skip and skip.get("if") is True:
            return False
        include = get_directive_values(GraphQLIncludeDirective, node, self.variables)
        return not (include and include.get("if") is False)


def _field_definition(parent: GraphQLNamedType, name: str) -> GraphQLField | None:
    fields = getattr(parent, "fields", None)
    return fields.get(name) if fields else None


def _list_size(definition: GraphQLField, arguments: dict[str, Any]) -> int:
    """How many items the lists of what ``definition`` returns hold."""
    if PAGE_ARGUMENTS[0] in definition.args:
        for name in PAGE_ARGUMENTS:
            if arguments.get(name) is not None:
                return max(int(arguments[name]), 0)
        return int(settings.CONNECTION_DEFAULT_PAGE_SIZE)
    if BATCH_ARGUMENT in definition.args:
        return max(int(arguments.get(BATCH_ARGUMENT) or 0), 0)
    return 1
