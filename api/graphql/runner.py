"""strawberry's runner of schema extensions, asked once per result of a
subscription: what the extensions add to the result, and their hooks around
it. strawberry asks every extension for both, for every result; most have
neither, and a stream of small batches paid for asking them all each time.
Here only the extensions that override ``get_results`` or
``on_stream_result`` are asked, in the same order: the same results."""

from functools import cached_property
from typing import Any

from strawberry.extensions import SchemaExtension
from strawberry.extensions.context import StreamResultContextManager
from strawberry.extensions.runner import SchemaExtensionsRunner
from strawberry.types import ExecutionContext, StreamExecutionResult
from strawberry.utils.await_maybe import await_maybe


def _overriding(extensions: list[SchemaExtension], hook: str) -> list[SchemaExtension]:
    default = getattr(SchemaExtension, hook)
    return [extension for extension in extensions if getattr(type(extension), hook) is not default]


class ExtensionsRunner(SchemaExtensionsRunner):
    @cached_property
    def _with_results(self) -> list[SchemaExtension]:
        return _overriding(self.extensions, "get_results")

    @cached_property
    def _on_stream_result(self) -> list[SchemaExtension]:
        return _overriding(self.extensions, "on_stream_result")

    async def get_extensions_results(self, ctx: ExecutionContext) -> dict[str, Any]:
        data: dict[str, Any] = {}
        for extension in self._with_results:
            data.update(await await_maybe(extension.get_results()))
        data.update(ctx.extensions_results)
        return data

    def on_stream_result(self, result: StreamExecutionResult) -> StreamResultContextManager:
        return StreamResultContextManager(self._on_stream_result, result)
