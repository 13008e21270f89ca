"""graphql-core's executor, made fit for thousands of long subscriptions.

Two changes to strawberry's execution context:

- Each subscription event gets its own sub-field cache. graphql-core 3.3
  copies the subscription's executor per event but shares the cache, keyed
  by the identity of lists made anew for each event, so it grows with every
  event for as long as the subscription lives.
- A ``SharedList`` is completed once per selection. When a thousand live
  subscribers are sent the same changed products, graphql-core would
  otherwise execute the same selection over the same rows a thousand times;
  the completed list (plain data: dicts, strings, numbers) is reused by every
  execution that selects the same fields with the same arguments. Only
  completions that finished at once and without errors are reused, so
  resolvers that await (e.g. ``priceIn``) or fail run per subscriber.
"""

import json
from typing import Any

from graphql import (
    FieldNode,
    GraphQLList,
    GraphQLOutputType,
    GraphQLResolveInfo,
    Node,
    VariableNode,
    print_ast,
    visit,
)
from graphql.execution.collect_fields import FieldDetailsList
from graphql.language import Visitor
from graphql.pyutils import AwaitableOrValue, Path
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext


class SharedList(list[Any]):
    """Rows that many executions complete alike. Whatever resolves under them
    must not depend on who asks (the context): every viewer gets the same."""

    def __init__(self, rows: list[Any]) -> None:
        super().__init__(rows)
        self.completed: dict[str, list[Any]] = {}


class _Variables(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.names: set[str] = set()

    def enter_variable(self, node: VariableNode, *_: Any) -> None:
        self.names.add(node.name.value)


class ExecutionContext(StrawberryGraphQLCoreExecutionContext):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Per subscription: the selections' keys, a fixed few per document.
        self._selection_keys: dict[tuple[int, ...], str] = {}

    def build_per_event_executor(self, payload: Any) -> Any:
        executor = super().build_per_event_executor(payload)
        executor._relevant_sub_fields = {}
        return executor

    def complete_list_value(
        self,
        return_type: GraphQLList[GraphQLOutputType],
        field_details_list: FieldDetailsList,
        info: GraphQLResolveInfo[Any],
        path: Path,
        result: Any,
        position_context: Any,
    ) -> AwaitableOrValue[list[Any]]:
        complete = super().complete_list_value
        if not isinstance(result, SharedList):
            return complete(return_type, field_details_list, info, path, result, position_context)
        key = self._selection_key(return_type, [details.node for details in field_details_list])
        if key in result.completed:
            return result.completed[key]
        errors = len(self.collected_errors.errors)
        completed = complete(return_type, field_details_list, info, path, result, position_context)
        if not self.is_awaitable(completed) and len(self.collected_errors.errors) == errors:
            result.completed[key] = completed  # type: ignore[assignment]
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
