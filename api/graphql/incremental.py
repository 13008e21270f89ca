"""``@defer`` and ``@stream`` (graphql-core 3.3's incremental execution) where
the transport can deliver a response in parts, and in place everywhere else.

strawberry's support (``enable_experimental_incremental_execution``) holds
for the execution itself, not around it. Three gaps are filled here:

- strawberry runs every operation incrementally once the directives are in
  the schema, whether or not its transport can send parts. The executor
  (``IncrementalSwitch``) delivers in parts only inside
  ``incremental_delivery()``, which the HTTP view enters for a client that
  accepts ``multipart/mixed``; elsewhere it is graphql-core's plain executor,
  which completes deferred fragments and streamed lists in place.
- strawberry hands graphql-core's container of results back as it is: the
  errors of the initial result and of every later part skip
  ``Schema.process_errors`` (so unexpected errors were not masked), the
  extensions' results are dropped, and extensions that read
  ``execution_context.result.errors`` fail on it. ``IncrementalResults``
  (a mixin of the schema) processes every part's errors like any others and
  puts the extensions' results on the initial part.
- an ``initialCount`` below 0 raised a ValueError, masked as a server error;
  it is the client's error (``BAD_USER_INPUT``).
"""

from collections.abc import AsyncGenerator, Iterator, Sequence
from contextlib import aclosing, contextmanager
from contextvars import ContextVar
from typing import Any, cast

from graphql import (
    ExperimentalIncrementalExecutionResults,
    GraphQLError,
    GraphQLObjectType,
    GraphQLStreamDirective,
    SubsequentIncrementalExecutionResult,
    get_named_type,
)
from graphql.execution import Executor, VariableValues, get_directive_values
from graphql.execution.collect_fields import (
    FieldDetails,
    FieldDetailsList,
    FragmentDetails,
    collect_subfields,
)
from graphql.execution.executor import StreamUsage
from graphql.execution.incremental import IncrementalExecutor
from graphql.pyutils import AwaitableOrValue, Path
from strawberry.extensions.runner import SchemaExtensionsRunner
from strawberry.schema import Schema
from strawberry.schema._graphql_core import ResultType
from strawberry.types import ExecutionContext as OperationContext
from strawberry.types import ExecutionResult, Info

from api.graphql.errors import ClientError

_delivering: ContextVar[bool] = ContextVar("incremental_delivery", default=False)


@contextmanager
def incremental_delivery() -> Iterator[None]:
    """Operations started inside send their deferred and streamed parts later."""
    token = _delivering.set(True)
    try:
        yield
    finally:
        _delivering.reset(token)


def delivers_incrementally() -> bool:
    return _delivering.get()


class IncrementalSwitch(IncrementalExecutor):
    """graphql-core's incremental executor inside ``incremental_delivery()``,
    its plain one (which ignores ``@defer`` and ``@stream``) outside."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Read once: later parts are completed outside the request's context.
        self.delivers_incrementally = delivers_incrementally()

    def __copy__(self) -> "IncrementalSwitch":
        # graphql-core copies the executor for every item streamed and every
        # deferred fragment; copy() would go through __reduce_ex__, several
        # times slower than copying the attributes.
        clone = object.__new__(type(self))
        clone.__dict__.update(self.__dict__)
        return clone

    def execute_collected_root_fields(self, *args: Any) -> AwaitableOrValue[dict[str, Any]]:
        if self.delivers_incrementally:
            return super().execute_collected_root_fields(*args)
        return Executor.execute_collected_root_fields(self, *args)

    def execute_collected_subfields(self, *args: Any) -> AwaitableOrValue[dict[str, Any]]:
        if self.delivers_incrementally:
            return super().execute_collected_subfields(*args)
        return Executor.execute_collected_subfields(self, *args)

    def handle_stream(self, *args: Any) -> bool:
        if self.delivers_incrementally:
            return super().handle_stream(*args)
        return Executor.handle_stream(self, *args)

    def get_stream_usage(
        self, field_details_list: FieldDetailsList, path: Path
    ) -> StreamUsage | None:
        try:
            return super().get_stream_usage(field_details_list, path)
        except ValueError:  # graphql-core's refusal of a negative initialCount
            raise ClientError("`@stream(initialCount:)` must be 0 or more.") from None


def streamed_subfield(info: Info, name: str) -> int | None:
    """The ``initialCount`` of the resolved field's sub-field ``name`` when
    this response streams it (once, under one response name), else None:
    the list is then completed in place, as a whole."""
    if not delivers_incrementally():
        return None
    raw = info._raw_info
    parent = get_named_type(raw.return_type)
    if not isinstance(parent, GraphQLObjectType):
        return None
    # strawberry hands resolvers the coerced values alone, as a dict.
    variables = VariableValues(sources={}, coerced=cast(dict[str, Any], raw.variable_values))
    collected = collect_subfields(
        raw.schema,
        {fragment: FragmentDetails(node) for fragment, node in raw.fragments.items()},
        variables,
        raw.operation,
        parent,
        [FieldDetails(node, None) for node in raw.field_nodes],
    )
    selections = [
        group for group in collected.grouped_field_set.values() if group[0].node.name.value == name
    ]
    if len(selections) != 1:
        return None
    stream = get_directive_values(GraphQLStreamDirective, selections[0][0].node, variables)
    if not stream or stream.get("if") is False:
        return None
    initial_count: int = stream["initialCount"]
    return initial_count


def _part_errors(part: SubsequentIncrementalExecutionResult) -> list[GraphQLError]:
    entries: Sequence[Any] = [*(part.incremental or ()), *(part.completed or ())]
    return [error for entry in entries for error in entry.errors or ()]


class IncrementalResults(Schema):
    """Results in parts processed like whole ones (see the module's doc)."""

    async def _execute_operation(
        self, execution_context: OperationContext, *args: Any, **kwargs: Any
    ) -> ResultType:
        result = await super()._execute_operation(execution_context, *args, **kwargs)
        if isinstance(result, ExperimentalIncrementalExecutionResults):
            initial = result.initial_result
            # What extensions read once the operation is over: the first part.
            execution_context.result = initial
            if initial.errors:
                execution_context.pre_execution_errors = initial.errors
                self._process_errors(initial.errors, execution_context)
        return result

    async def _handle_execution_result(
        self,
        context: OperationContext,
        result: ResultType,
        extensions_runner: SchemaExtensionsRunner,
        *,
        skip_process_errors: bool = False,
    ) -> ExecutionResult:
        if not isinstance(result, ExperimentalIncrementalExecutionResults):
            return await super()._handle_execution_result(
                context, result, extensions_runner, skip_process_errors=skip_process_errors
            )
        initial = result.initial_result
        extensions = await extensions_runner.get_extensions_results(context)
        if extensions:
            initial.extensions = {**(initial.extensions or {}), **extensions}
        later = self._processed(result.subsequent_results, context)
        return result._replace(subsequent_results=later)  # type: ignore[return-value]

    async def _processed(
        self,
        parts: AsyncGenerator[SubsequentIncrementalExecutionResult, None],
        context: OperationContext,
    ) -> AsyncGenerator[SubsequentIncrementalExecutionResult, None]:
        async with aclosing(parts):
            async for part in parts:
                if errors := _part_errors(part):
                    self._process_errors(errors, context)
                yield part
