"""graphql-core's executor, made fit for thousands of long subscriptions.

Two changes to strawberry's execution context:

- Sub-fields are collected once per subscription. graphql-core 3.3 copies
  the subscription's executor per event and shares its cache of collected
  sub-fields, keyed by the identity of lists made anew for each event: the
  cache missed every time and grew with every event for as long as the
  subscription lived. Keyed by the document's nodes, it hits.
- A ``SharedList`` is completed once per selection. When a thousand live
  subscribers are sent the same changed products, graphql-core would
  otherwise execute the same selection over the same rows a thousand times;
  the completed list (plain data: dicts, strings, numbers) is reused by every
  execution that selects the same fields with the same arguments. Only
  completions that finished at once and without errors are reused, so
  resolvers that await (e.g. ``priceIn``) or fail run per subscriber.
- A ``PartlyShared`` object (a LIVE batch) is completed once per selection
  but for its own fields (the batch's ``sequence``), which each execution
  completes for itself.
- Lists of objects whose selection api.graphql.compiler plans are completed
  by the compiled functions of api.graphql.compiled (``GRAPHQL_COMPILED``),
  graphql-core completing them where a row does not fit. So is a
  subscription's event when the selection of its root field is planned: a
  stream of small batches is otherwise mostly graphql-core's steps over the
  batch's few fields, again for every event.
"""

import json
import logging
from collections.abc import Callable, Hashable
from typing import Any, ClassVar

from django.conf import settings
from graphql import (
    ExecutionResult,
    ExperimentalIncrementalExecutionResults,
    FieldNode,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLResolveInfo,
    Node,
    OperationType,
    VariableNode,
    print_ast,
    visit,
)
from graphql.execution.collect_fields import (
    CollectedFields,
    FieldDetailsList,
    GroupedFieldSet,
    collect_fields,
)
from graphql.language import Visitor
from graphql.pyutils import AwaitableOrValue, Path
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from api.graphql.compiled import Completer, completers
from api.graphql.compiler import Collecting, plans
from api.graphql.incremental import IncrementalSwitch
from api.paging.rows import TupleRows
from api.websocket.log import name_operation

logger = logging.getLogger(__name__)


class SharedList(list[Any]):
    """Rows that many executions complete alike. Whatever resolves under them
    must not depend on who asks (the context): every viewer gets the same."""

    def __init__(self, rows: list[Any]) -> None:
        super().__init__(rows)
        self.completed: dict[str, Any] = {}


class PartlyShared:
    """An object that many executions complete alike but for its
    ``own_fields`` (named as the schema names them, as a document selects
    them): the others are completed once per selection, when
    ``sharing()`` names the SharedList to keep them with and the object's
    state that they depend on."""

    own_fields: ClassVar[frozenset[str]] = frozenset()

    def sharing(self) -> tuple[SharedList, Hashable] | None:
        return None


class _Variables(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.names: set[str] = set()

    def enter_variable(self, node: VariableNode, *_: Any) -> None:
        self.names.add(node.name.value)


class ExecutionContext(IncrementalSwitch, StrawberryGraphQLCoreExecutionContext):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # A websocket operation is logged by the name in its document when its
        # client sent none with it.
        name_operation(self.operation.name.value if self.operation.name else None)
        # Per subscription, shared by its events: a fixed few per document.
        self._selection_keys: dict[tuple[int, ...], str] = {}
        self._subfields: dict[tuple[Any, ...], CollectedFields] = {}
        # The compiled completion of the events, once planned.
        self._events: dict[str, tuple[str, Completer] | None] = {}

    def execute_operation(
        self, serially: bool | None = None
    ) -> AwaitableOrValue[ExecutionResult | ExperimentalIncrementalExecutionResults]:
        # A subscription's executor runs operations for its events alone
        # (graphql-core's per-event copies of it).
        if self.operation.operation == OperationType.SUBSCRIPTION:
            data = self._compiled_event()
            if data is not None:
                return self.build_response(data)
        return super().execute_operation(serially)

    def collect_subfields(
        self, return_type: GraphQLObjectType, field_details_list: FieldDetailsList
    ) -> CollectedFields:
        # graphql-core memoizes by the identity of the list, which each event
        # makes anew; the nodes in it are the document's, the same every time.
        key = (return_type, *(id(details.node) for details in field_details_list))
        if key not in self._subfields:
            self._subfields[key] = super().collect_subfields(return_type, field_details_list)
        return self._subfields[key]

    def execute_fields(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path | None,
        grouped_field_set: GroupedFieldSet,
        position_context: Any,
    ) -> AwaitableOrValue[dict[str, Any]]:
        execute = super().execute_fields
        sharing = source_value.sharing() if isinstance(source_value, PartlyShared) else None
        if sharing is None:
            return execute(parent_type, source_value, path, grouped_field_set, position_context)
        anchor, state = sharing
        own: GroupedFieldSet = {}
        shared: GroupedFieldSet = {}
        for response_name, field_details_list in grouped_field_set.items():
            name = field_details_list[0].node.name.value
            part = own if name in source_value.own_fields else shared
            part[response_name] = field_details_list
        nodes = [details.node for group in shared.values() for details in group]
        completed = self._once(
            anchor,
            f"{self._selection_key(parent_type, nodes)}\n{state!r}",
            lambda: execute(parent_type, source_value, path, shared, position_context),
        )
        mine = execute(parent_type, source_value, path, own, position_context)
        return self._merged(grouped_field_set, completed, mine)

    def _merged(
        self,
        order: GroupedFieldSet,
        *parts: AwaitableOrValue[dict[str, Any]],
    ) -> AwaitableOrValue[dict[str, Any]]:
        """The parts' fields in the selection's order, once all are there."""

        def merge(values: list[dict[str, Any]]) -> dict[str, Any]:
            return {name: part[name] for name in order for part in values if name in part}

        if not any(map(self.is_awaitable, parts)):
            return merge(list(parts))  # type: ignore[arg-type]

        async def awaited() -> dict[str, Any]:
            return merge([await part if self.is_awaitable(part) else part for part in parts])  # type: ignore[misc]

        return awaited()

    def complete_list_value(
        self,
        return_type: GraphQLList[GraphQLOutputType],
        field_details_list: FieldDetailsList,
        info: GraphQLResolveInfo[Any],
        path: Path,
        result: Any,
        position_context: Any,
    ) -> AwaitableOrValue[list[Any]]:
        complete = self._complete_list
        if not isinstance(result, SharedList):
            return complete(return_type, field_details_list, info, path, result, position_context)
        completed: AwaitableOrValue[list[Any]] = self._once(
            result,
            self._selection_key(return_type, [details.node for details in field_details_list]),
            lambda: complete(return_type, field_details_list, info, path, result, position_context),
        )
        return completed

    def _complete_list(
        self,
        return_type: GraphQLList[GraphQLOutputType],
        field_details_list: FieldDetailsList,
        info: GraphQLResolveInfo[Any],
        path: Path,
        result: Any,
        position_context: Any,
    ) -> AwaitableOrValue[list[Any]]:
        compiled = self._compiled(return_type, field_details_list, result)
        if compiled is not None:
            return compiled
        if isinstance(result, TupleRows):
            result = result.objects()
        return super().complete_list_value(
            return_type, field_details_list, info, path, result, position_context
        )

    def _compiled(
        self,
        return_type: GraphQLList[GraphQLOutputType],
        field_details_list: FieldDetailsList,
        rows: Any,
    ) -> list[Any] | None:
        """The list completed by its selection's compiled function, or None
        where graphql-core is to complete it."""
        mode = settings.GRAPHQL_COMPILED
        item_type = return_type.of_type
        if mode == "off" or not isinstance(rows, list) or not isinstance(item_type, GraphQLNonNull):
            return None
        object_type = item_type.of_type
        if not isinstance(object_type, GraphQLObjectType):
            return None
        plan = plans.plan(self._collecting(), object_type, field_details_list)
        if plan is None:
            return None
        complete = completers.for_rows(plan, rows)
        if complete is None:
            return None
        try:
            return list(map(complete, rows))
        except Exception as error:
            # A row that graphql-core answers otherwise (with an error, or
            # after a query): it completes the list.
            level = logging.WARNING if mode == "on" else logging.DEBUG
            logger.log(level, "compiled %s fell back to graphql-core: %r", object_type, error)
            return None

    def _compiled_event(self) -> dict[str, Any] | None:
        """The event's data completed by its selection's compiled function,
        or None where graphql-core is to execute it. An event that shares
        parts with other subscribers' (a LIVE batch) is left to graphql-core,
        which completes those parts once for all of them."""
        mode = settings.GRAPHQL_COMPILED
        event = self.root_value
        if mode == "off" or (isinstance(event, PartlyShared) and event.sharing() is not None):
            return None
        if "planned" not in self._events:
            self._events["planned"] = self._event_completer()
        planned = self._events["planned"]
        if planned is None:
            return None
        key, complete = planned
        try:
            return {key: complete(event)}
        except Exception as error:
            level = logging.WARNING if mode == "on" else logging.DEBUG
            logger.log(level, "compiled event fell back to graphql-core: %r", error)
            return None

    def _event_completer(self) -> tuple[str, Completer] | None:
        """The response key of the subscription's root field and the compiled
        function of its selection, which completes the event itself (what
        strawberry's root resolver returns for every event)."""
        root_type = self.schema.subscription_type
        assert root_type is not None
        collected = collect_fields(
            self.schema, self.fragments, self.variable_values, root_type, self.operation
        )
        if collected.new_defer_usages or len(collected.grouped_field_set) != 1:
            return None
        [(key, group)] = collected.grouped_field_set.items()
        field = root_type.fields.get(group[0].node.name.value)
        if field is None:
            return None
        field_type = field.type.of_type if isinstance(field.type, GraphQLNonNull) else field.type
        if not isinstance(field_type, GraphQLObjectType):
            return None
        plan = plans.plan(self._collecting(), field_type, group)
        if plan is None or plan.model is not None:
            return None
        return key, completers.for_objects(plan)

    def _collecting(self) -> Collecting:
        return Collecting(self.schema, self.fragments, self.variable_values, self.operation)

    def _once(
        self, shared: SharedList, key: str, complete: Callable[[], AwaitableOrValue[Any]]
    ) -> AwaitableOrValue[Any]:
        """What ``complete()`` gave for ``key`` before, else its result, kept
        for the next time if it finished at once and without errors."""
        if key in shared.completed:
            return shared.completed[key]
        errors = len(self.collected_errors.errors)
        completed = complete()
        if not self.is_awaitable(completed) and len(self.collected_errors.errors) == errors:
            shared.completed[key] = completed
        return completed

    def _selection_key(self, return_type: GraphQLOutputType, nodes: list[FieldNode]) -> str:
        """What the completion depends on: the type, the selection as text
        (with the document's fragments) and the variables it uses."""
        identity = tuple(map(id, nodes))
        if identity not in self._selection_keys:
            parts: list[Node] = [*nodes, *self.fragment_definitions.values()]
            variables = _Variables()
            for part in parts:
                visit(part, variables)
            values = {name: self.variable_values.coerced.get(name) for name in variables.names}
            self._selection_keys[identity] = "\n".join(
                [
                    str(return_type),
                    *map(print_ast, parts),
                    json.dumps(values, sort_keys=True, default=repr),
                ]
            )
        return self._selection_keys[identity]
