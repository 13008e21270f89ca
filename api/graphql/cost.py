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

from collections import OrderedDict
from collections.abc import Hashable
from typing import Any, TypeVar

from django.conf import settings
from graphql import (
    ArgumentNode,
    DirectiveNode,
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
    VariableNode,
    Visitor,
    get_named_type,
    get_nullable_type,
    is_composite_type,
    visit,
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
SIZE_ARGUMENTS = {*PAGE_ARGUMENTS, BATCH_ARGUMENT, IDS_ARGUMENT}
CONDITIONS = {GraphQLIncludeDirective.name, GraphQLSkipDirective.name}

T = TypeVar("T")


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


class _SizeVariables(Visitor):
    """The variables a document's cost reads: in size arguments, and in
    ``@include``/``@skip``."""

    def __init__(self) -> None:
        super().__init__()
        self.names: set[str] = set()
        self._inside = 0

    def enter_argument(self, node: ArgumentNode, *_: Any) -> None:
        self._inside += node.name.value in SIZE_ARGUMENTS

    def leave_argument(self, node: ArgumentNode, *_: Any) -> None:
        self._inside -= node.name.value in SIZE_ARGUMENTS

    def enter_directive(self, node: DirectiveNode, *_: Any) -> None:
        self._inside += node.name.value in CONDITIONS

    def leave_directive(self, node: DirectiveNode, *_: Any) -> None:
        self._inside -= node.name.value in CONDITIONS

    def enter_variable(self, node: VariableNode, *_: Any) -> None:
        if self._inside:
            self.names.add(node.name.value)


class CostCache:
    """The costs last computed, by document text, operation and the values of
    the variables the cost reads: a storefront sends the same few documents
    with new cursors and filters, which change no cost."""

    def __init__(self, maxsize: int) -> None:
        self._maxsize = maxsize
        self._reads: OrderedDict[str, tuple[str, ...]] = OrderedDict()
        self._costs: OrderedDict[tuple[Hashable, ...], int] = OrderedDict()

    def cost(
        self,
        schema: GraphQLSchema,
        query: str,
        document: DocumentNode,
        operation_name: str | None,
        variables: dict[str, Any] | None,
    ) -> int:
        reads = self._remembered(self._reads, query)
        if reads is None:
            found = _SizeVariables()
            visit(document, found)
            reads = self._remember(self._reads, query, tuple(sorted(found.names)))
        given = variables or {}
        read = tuple((name, name in given, repr(given.get(name))) for name in reads)
        key = (query, operation_name, read)
        cost = self._remembered(self._costs, key)
        if cost is None:
            cost = self._remember(
                self._costs, key, operation_cost(schema, document, operation_name, variables)
            )
        return cost

    def _remembered(self, entries: "OrderedDict[Any, T]", key: Hashable) -> T | None:
        value = entries.get(key)
        if value is not None:
            entries.move_to_end(key)
        return value

    def _remember(self, entries: "OrderedDict[Any, T]", key: Hashable, value: T) -> T:
        entries[key] = value
        if len(entries) > self._maxsize:
            entries.popitem(last=False)
        return value


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
        is_list = isinstance(get_nullable_type(definition.type), GraphQLList)
        if is_list:
            times *= lists
        inner = 1
        if definition.args.keys() & SIZE_ARGUMENTS:  # only these are worth coercing
            arguments = get_argument_values(definition, node, self.variables)
            ids = arguments.get(IDS_ARGUMENT)
            if is_list and isinstance(ids, list):
                times *= len(ids)
            inner = _list_size(definition, arguments)
        return times + self.selection(returned, node.selection_set, times, inner)

    def _included(self, node: Any) -> bool:
        if not node.directives:
            return True
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
