"""The compiled path answers exactly as graphql-core does: for any selection
hypothesis makes up (aliases, fragments, inline fragments, ``@include`` and
``@skip`` on variables, ``category { … }``, fields it leaves to graphql-core),
any variables and any rows, a page of ``products`` and a ``productStream``
(any of its batch's fields around the products) give the same bytes with
``GRAPHQL_COMPILED`` on and off, errors included."""

from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import orjson
import pytest
from asgiref.sync import async_to_sync
from django.db import connection
from django.test import override_settings
from hypothesis import given
from hypothesis import strategies as st
from strawberry.types import ExecutionResult

from api.graphql import compiled
from api.schema import schema
from products.factories import CategoryFactory, ProductFactory
from products.models import Category, Product
from tests.properties import examples

pytestmark = pytest.mark.django_db(transaction=True)  # streams read on threads of their own

PRODUCT_LEAVES = [
    "id", "sku", "name", "description", "price", "discountPercent", "discountedPrice",
    "stock", "version", "createdAt", "updatedAt", "__typename",
]  # fmt: skip
CATEGORY_LEAVES = ["id", "name", "slug", "discountPercent", "__typename"]
BATCH_FIELDS = [
    "phase", "sequence", "removedIds", "cursor", "snapshotComplete", "resumeToken", "__typename",
]  # fmt: skip
# Left to graphql-core: a field with arguments and a resolver that awaits.
UNCOMPILED = 'priceIn(currency: "EUR") { amount currency }'
CHARACTERS = st.characters(exclude_categories=["Cs"], exclude_characters="\x00")
PERCENTS = st.one_of(st.none(), st.integers(0, 10_000).map(lambda cents: Decimal(cents) / 100))


class Document:
    def __init__(self) -> None:
        self.fragments: list[str] = []
        self.variables: set[str] = set()

    def arguments(self) -> str:
        """The declarations of the variables used so far."""
        declared = ", ".join(f"${name}: Boolean!" for name in sorted(self.variables))
        return f"({declared})" if declared else ""


@st.composite
def directive(draw: st.DrawFn, document: Document) -> str:
    kind = draw(st.sampled_from(["", "", "", "@include", "@skip"]))
    if not kind:
        return ""
    condition = draw(st.sampled_from(["$a", "$b", "true", "false"]))
    if condition.startswith("$"):
        document.variables.add(condition[1:])
    return f" {kind}(if: {condition})"


@st.composite
def selection(draw: st.DrawFn, document: Document, on: str, depth: int = 0) -> str:
    leaves = PRODUCT_LEAVES if on == "Product" else CATEGORY_LEAVES
    items = []
    for _ in range(draw(st.integers(1, 5))):
        kind = draw(st.sampled_from(["leaf", "leaf", "leaf", "nested", "inline", "spread", "x"]))
        if kind == "leaf" or (kind == "nested" and on != "Product") or depth > 2:
            field = draw(st.sampled_from(leaves))
            alias = draw(
                st.sampled_from(["", "", f"{field.strip('_')}_1: ", f"{field.strip('_')}_2: "])
            )
            items.append(f"{alias}{field}{draw(directive(document))}")
        elif kind == "nested":
            inner = draw(selection(document, "Category", depth + 1))
            alias = draw(st.sampled_from(["", "kind: "]))
            items.append(f"{alias}category{draw(directive(document))} {{ {inner} }}")
        elif kind == "inline":
            condition = draw(st.sampled_from([f"on {on} ", "on Node ", ""]))
            inner = draw(selection(document, on, depth + 1))
            items.append(f"... {condition}{draw(directive(document)).strip()} {{ {inner} }}")
        elif kind == "spread":
            name = f"F{len(document.fragments)}"
            document.fragments.append("")  # reserves the name
            inner = draw(selection(document, on, depth + 1))
            document.fragments[int(name[1:])] = f"fragment {name} on {on} {{ {inner} }}"
            items.append(f"...{name}{draw(directive(document))}")
        elif on == "Product":
            items.append(UNCOMPILED)
        else:
            items.append("__typename")
    return " ".join(items)


@st.composite
def documents(draw: st.DrawFn) -> tuple[str, str, dict[str, bool]]:
    document = Document()
    products = draw(selection(document, "Product"))
    fragments = "\n".join(document.fragments)
    page = (
        f"query Page{document.arguments()} {{ products(first: 50) {{ edges {{ cursor node {{ {products} }} }}"
        f" pageInfo {{ hasNextPage }} }} }}\n{fragments}"
    )
    batch_size = draw(st.integers(1, 7))
    around = []
    for field in draw(st.lists(st.sampled_from(BATCH_FIELDS), max_size=4)):
        alias = draw(st.sampled_from(["", f"{field.strip('_')}_1: "]))
        around.append(f"{alias}{field}{draw(directive(document))}")
    stream = (
        f"subscription Stream{document.arguments()} {{ productStream(batchSize: {batch_size}) {{ sequence"
        f" products {{ {products} }} {' '.join(around)} }} }}\n{fragments}"
    )
    values = {name: draw(st.booleans()) for name in document.variables}
    return page, stream, values


@st.composite
def catalogs(draw: st.DrawFn) -> list[dict[str, Any]]:
    categories = draw(st.integers(0, 2))
    return [
        {
            "name": draw(st.text(CHARACTERS, min_size=1, max_size=8)),
            "description": draw(st.text(CHARACTERS, max_size=8)),
            "price": Decimal(draw(st.integers(1, 10**12 - 1))) / 100,
            "discount_percent": draw(PERCENTS),
            "stock": draw(st.integers(0, 2**31 - 1)),
            "category": draw(st.integers(-1, categories - 1)),
            "category_discount": draw(PERCENTS),
        }
        for _ in range(draw(st.integers(0, 9)))
    ]


def make(rows: list[dict[str, Any]]) -> None:
    Product.objects.all().delete()
    Category.objects.all().delete()
    categories = [CategoryFactory(discount_percent=row["category_discount"]) for row in rows[:2]]
    for row in rows:
        category = categories[row["category"]] if 0 <= row["category"] < len(categories) else None
        ProductFactory(
            name=row["name"],
            description=row["description"],
            price=row["price"],
            discount_percent=row["discount_percent"],
            stock=row["stock"],
            category=category,
        )
    if rows and connection.vendor == "sqlite":
        # SQLite stores what GraphQL's Int cannot represent: an error, by both paths.
        Product.objects.filter(pk=Product.objects.order_by("pk")[0].pk).update(stock=2**31)


def encoded(result: ExecutionResult) -> bytes:
    return orjson.dumps([result.data, [error.formatted for error in result.errors or []]])


async def answers(page: str, stream: str, values: dict[str, bool]) -> list[bytes]:
    results = [encoded(await schema.execute(page, values))]
    subscription = await schema.subscribe(stream, variable_values=values)
    assert not isinstance(subscription, ExecutionResult), subscription.errors
    results += [encoded(result) async for result in subscription]
    return results


@contextmanager
def counted_completions() -> Iterator[list[str]]:
    """The types whose lists were completed by compiled functions."""
    served: list[str] = []
    original = compiled.Completers.for_objects, compiled.Completers.for_tuples

    def for_objects(self: Any, plan: Any) -> Any:
        served.append(f"objects of {plan.type_name}")
        return original[0](self, plan)

    def for_tuples(self: Any, plan: Any, columns: Any) -> Any:
        served.append(f"tuples of {plan.type_name}")
        return original[1](self, plan, columns)

    compiled.Completers.for_objects = for_objects  # type: ignore[method-assign]
    compiled.Completers.for_tuples = for_tuples  # type: ignore[method-assign]
    try:
        yield served
    finally:
        compiled.Completers.for_objects, compiled.Completers.for_tuples = original  # type: ignore[method-assign]


@examples(40)
@given(rows=catalogs(), document=documents())
def test_compiled_answers_as_graphql_core(
    rows: list[dict[str, Any]], document: tuple[str, str, dict[str, bool]]
) -> None:
    make(rows)
    page, stream, values = document
    with override_settings(GRAPHQL_COMPILED="off"):
        expected = async_to_sync(answers)(page, stream, values)
    with override_settings(GRAPHQL_COMPILED="on"):
        actual = async_to_sync(answers)(page, stream, values)
    assert actual == expected


SIX_FIELDS = "id sku name price discountedPrice stock"


@pytest.mark.parametrize(
    ("selection", "served"),
    [
        (SIX_FIELDS, ["objects of ProductBatch", "objects of ProductEdge", "tuples of Product"]),
        (
            f"{SIX_FIELDS} category {{ name }}",
            ["objects of ProductBatch", "objects of ProductEdge", "tuples of Product"],
        ),
        (f"{SIX_FIELDS} {UNCOMPILED}", []),
    ],
)
def test_compiled_path_serves_what_it_plans(selection: str, served: list[str]) -> None:
    make([{"name": "Mug", "description": "", "price": Decimal("19.9"), "discount_percent": None,
           "stock": 3, "category": 0, "category_discount": Decimal(10)}])  # fmt: skip
    page = f"query {{ products(first: 5) {{ edges {{ node {{ {selection} }} }} }} }}"
    stream = f"subscription {{ productStream {{ products {{ {selection} }} }} }}"
    with override_settings(GRAPHQL_COMPILED="auto"), counted_completions() as completions:
        async_to_sync(answers)(page, stream, {})
    assert sorted(set(completions)) == served


def test_off_leaves_everything_to_graphql_core() -> None:
    page = f"query {{ products(first: 5) {{ edges {{ node {{ {SIX_FIELDS} }} }} }} }}"
    stream = f"subscription {{ productStream {{ products {{ {SIX_FIELDS} }} }} }}"
    with override_settings(GRAPHQL_COMPILED="off"), counted_completions() as completions:
        async_to_sync(answers)(page, stream, {})
    assert completions == []
