"""api.graphql.execution on schemas of its own: shared lists and partly shared
objects completed once per selection, and subscriptions that keep nothing
per event."""

import gc
import tracemalloc
from collections.abc import AsyncGenerator, Hashable
from typing import Any, ClassVar

import strawberry

from api.graphql.execution import ExecutionContext, PartlyShared, SharedList

resolved: list[str] = []


@strawberry.type
class Item:
    id: int

    @strawberry.field
    def label(self, prefix: str = "") -> str:
        resolved.append(f"{prefix}{self.id}")
        return f"{prefix}{self.id}"

    @strawberry.field
    def broken(self) -> str | None:
        raise ValueError(f"item {self.id} is broken")


ITEMS = SharedList([Item(id=1), Item(id=2)])


@strawberry.type
class Batch:
    number: int
    items: list[Item]


@strawberry.type
class Query:
    @strawberry.field
    def items(self) -> list[Item]:
        return ITEMS


@strawberry.type
class Subscription:
    @strawberry.subscription
    async def batches(self, count: int) -> AsyncGenerator[Batch, None]:
        for number in range(count):
            yield Batch(number=number, items=[Item(id=number), Item(id=number + 1)])


schema = strawberry.Schema(
    query=Query, subscription=Subscription, execution_context_class=ExecutionContext
)


def run(query: str, **variables: Any) -> dict[str, Any]:
    result = schema.execute_sync(query, variable_values=variables)
    return {"data": result.data, "errors": [e.message for e in result.errors or []]}


def test_a_shared_list_is_completed_once_per_selection():
    resolved.clear()
    ITEMS.completed.clear()
    results = [run("{ items { id label } }") for _ in range(50)]
    assert all(r == results[0] for r in results)
    assert results[0]["data"] == {"items": [{"id": 1, "label": "1"}, {"id": 2, "label": "2"}]}
    assert resolved == ["1", "2"]

    run("query($p: String!) { items { label(prefix: $p) } }", p="a")
    run("query($p: String!) { items { label(prefix: $p) } }", p="a")
    run("query($p: String!) { items { label(prefix: $p) } }", p="b")
    run("{ items { other: label } }")
    assert resolved == ["1", "2", "a1", "a2", "b1", "b2", "1", "2"]


def test_a_completion_with_errors_is_not_shared():
    ITEMS.completed.clear()
    first, second = (run("{ items { id broken } }") for _ in range(2))
    assert first["errors"] == second["errors"] == ["item 1 is broken", "item 2 is broken"]
    assert ITEMS.completed == {}


async def test_a_subscription_keeps_nothing_per_event():
    """graphql-core alone keeps about two kilobytes per event of this
    subscription, for as long as it lives."""
    events = 3000
    results = await schema.subscribe(
        "subscription($n: Int!) { batches(count: $n) { number items { id } } }",
        variable_values={"n": events},
    )
    assert not isinstance(results, strawberry.types.ExecutionResult)
    gc.collect()
    tracemalloc.start()
    try:
        received = 0
        async for result in results:
            assert not result.errors, result.errors
            received += 1
            if received == 1000:
                gc.collect()
                early = tracemalloc.get_traced_memory()[0]
            if received == events - 1:
                gc.collect()
                late = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert received == events
    assert (late - early) / (events - 1001) < 100  # bytes kept per event


@strawberry.type
class Page(PartlyShared):
    number: int
    items: list[Item]

    own_fields: ClassVar[frozenset[str]] = frozenset({"number"})

    def sharing(self) -> tuple[SharedList, Hashable] | None:
        return (self.items, "page") if isinstance(self.items, SharedList) else None


@strawberry.type
class PagedQuery:
    @strawberry.field
    def page(self, number: int) -> Page:
        return Page(number=number, items=ITEMS)


paged = strawberry.Schema(query=PagedQuery, execution_context_class=ExecutionContext)


def test_a_partly_shared_object_completes_only_its_own_fields_each_time():
    resolved.clear()
    ITEMS.completed.clear()
    query = "query($n: Int!) { page(number: $n) { items { label } number again: number } }"
    results = [paged.execute_sync(query, variable_values={"n": n}).data for n in range(3)]

    assert results == [
        {"page": {"items": [{"label": "1"}, {"label": "2"}], "number": n, "again": n}}
        for n in range(3)
    ]
    assert [list(result["page"]) for result in results if result] == [
        ["items", "number", "again"]
    ] * 3
    assert resolved == ["1", "2"]
