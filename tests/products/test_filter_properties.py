"""Properties of ``ProductFilter``, for any filter hypothesis makes up: the
``products`` connection, and ``productStream``, return exactly the products
an evaluation of the filter written here, in Python, selects from the rows
as they were made; bad Decimals in a filter are clear errors."""

import random
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from hypothesis import given
from hypothesis import strategies as st
from strawberry.relay import from_base64, to_base64
from strawberry.types import ExecutionResult

from api.schema import schema
from products.factories import CategoryFactory, ProductFactory
from products.models import Category, Product
from products.selectors import DecimalRange, ProductCriteria
from tests.properties import examples

pytestmark = pytest.mark.django_db(transaction=True)  # streams read on threads of their own

PAGE = """query($filter: ProductFilter) {
  products(first: 100, filter: $filter) { edges { node { id } } }
}"""
STREAM = """subscription($filter: ProductFilter) {
  productStream(filter: $filter, batchSize: 7) { products { id } }
}"""
# Names that case-insensitive search and LIKE's wildcards can trip on.
NAMES = [
    "Oak Desk", "OAK desk lamp", "Steel Chair", "steel chair", "100% Cotton Towel",
    "snake_case Mug", "Back\\slash Hook", "Crème Brûlée Torch", "CRÈME Jar", "Straße Sign",
    "Ølkrus Glass", "Σίσυφος Stone", "Ünïcödé Lamp", "50%_off Sign",
]  # fmt: skip
# NUL is left out: it is refused before any search, as a BAD_USER_INPUT
# error of its own (PostgreSQL cannot store it in text).
CHARACTERS = st.characters(exclude_categories=["Cs"], exclude_characters="\x00")
CENTS = st.integers(0, 60_000).map(lambda cents: Decimal(cents) / 100)


@pytest.fixture
def catalog(transactional_db: None) -> list[Product]:
    """Products in three categories (no discount, 10 %, 25 %), some with a
    discount of their own (0 among them), out of stock or not, at prices
    from 0.01 to 600.00 with every kind of cents."""
    pick = random.Random(3)
    categories = [CategoryFactory(discount_percent=d) for d in (None, Decimal(10), Decimal(25))]
    for index in range(60):
        ProductFactory(
            name=NAMES[index % len(NAMES)],
            category=pick.choice([*categories, None]),
            price=Decimal(pick.randint(1, 60_000)) / 100,
            discount_percent=pick.choice([None, None, Decimal(0), Decimal("12.5"), Decimal(50)]),
            stock=pick.choice([0, 0, 1, 7]),
        )
    return list(Product.objects.select_related("category").order_by("created_at", "pk"))


def discounted_price(product: Product) -> Decimal:
    """The pricing rule, computed here from the row's own values."""
    return (product.price * (100 - discount(product)) / 100).quantize(
        Decimal("0.01"), ROUND_HALF_UP
    )


def discount(product: Product) -> Decimal:
    if product.discount_percent is not None:
        return product.discount_percent
    if product.category is not None and product.category.discount_percent is not None:
        return product.category.discount_percent
    return Decimal(0)


def within(value: Decimal, bounds: dict[str, str] | None) -> bool:
    if bounds is None:
        return True
    gte, lte = bounds.get("gte"), bounds.get("lte")
    return (gte is None or value >= Decimal(gte)) and (lte is None or value <= Decimal(lte))


def upper(text: str) -> str:
    """Upper case one letter at a time, as PostgreSQL's UPPER: "ß" stays."""
    return "".join(c.upper() if len(c.upper()) == 1 else c for c in text)


def selects(filter: dict[str, Any], product: Product) -> bool:
    """``filter`` as the contract states it, for one product."""
    search = filter.get("search")
    category = to_base64("Category", product.category_id) if product.category_id else None
    checks = [
        filter.get("ids") is None or to_base64("Product", product.pk) in filter["ids"],
        not search or any(upper(search) in upper(text) for text in (product.name, product.sku)),
        filter.get("categories") is None or category in filter["categories"],
        within(product.price, filter.get("price")),
        within(discounted_price(product), filter.get("discountedPrice")),
        filter.get("onSale") is None or filter["onSale"] == (discount(product) > 0),
        filter.get("inStock") is None or filter["inStock"] == (product.stock > 0),
    ]
    return all(checks)


@st.composite
def searches(draw: st.DrawFn) -> str:
    """A piece of a name or SKU in another case, or any text, wildcards and
    the escape character included."""
    text = draw(
        st.one_of(
            st.sampled_from([*NAMES, "SKU-000"])
            .flatmap(lambda name: st.tuples(st.just(name), st.integers(0, len(name))))
            .map(lambda pair: pair[0][pair[1] : pair[1] + 4]),
            st.text(st.one_of(CHARACTERS, st.sampled_from("%_\\")), max_size=4),
        )
    )
    return draw(st.sampled_from([text, text.upper(), text.lower(), text.swapcase()]))


def ranges() -> st.SearchStrategy[dict[str, str]]:
    """Bounds of two decimals, either or both, ``gte`` above ``lte`` too."""
    bound = st.one_of(st.none(), CENTS.map(lambda cents: f"{cents:.2f}"))
    return st.builds(
        lambda gte, lte: {k: v for k, v in (("gte", gte), ("lte", lte)) if v is not None},
        bound,
        bound,
    )


@st.composite
def filters(draw: st.DrawFn, catalog: list[Product]) -> dict[str, Any]:
    product_ids = [to_base64("Product", p.pk) for p in catalog]
    category_ids = [
        to_base64("Category", pk) for pk in Category.objects.values_list("pk", flat=True)
    ]
    nowhere = [to_base64("Product", 10**9), to_base64("Category", 10**9)]
    optional = {
        "ids": st.lists(st.sampled_from([*product_ids, nowhere[0]]), max_size=8),
        "search": searches(),
        "categories": st.lists(st.sampled_from([*category_ids, nowhere[1]]), max_size=3),
        "price": ranges(),
        "discountedPrice": ranges(),
        "onSale": st.booleans(),
        "inStock": st.booleans(),
    }
    given = draw(st.sets(st.sampled_from(sorted(optional)), max_size=4))
    return {name: draw(optional[name]) for name in sorted(given)}


async def streamed(filter: dict[str, Any]) -> list[str]:
    results = await schema.subscribe(STREAM, variable_values={"filter": filter})
    assert not isinstance(results, ExecutionResult), results
    ids: list[str] = []
    async for result in results:
        assert not result.errors, result.errors
        assert result.data is not None
        ids += [product["id"] for product in result.data["productStream"]["products"]]
    return ids


def criteria(filter: dict[str, Any]) -> ProductCriteria:
    """``filter`` as a live subscriber's feed holds it."""

    def pks(ids: list[str] | None) -> frozenset[int] | None:
        return None if ids is None else frozenset(int(from_base64(id)[1]) for id in ids)

    def bounds(given: dict[str, str] | None) -> DecimalRange | None:
        return None if given is None else DecimalRange(**{k: Decimal(v) for k, v in given.items()})

    return ProductCriteria(
        ids=pks(filter.get("ids")),
        search=filter.get("search"),
        category_ids=pks(filter.get("categories")),
        price=bounds(filter.get("price")),
        discounted_price=bounds(filter.get("discountedPrice")),
        on_sale=filter.get("onSale"),
        in_stock=filter.get("inStock"),
    )


@examples(60)
@given(data=st.data())
def test_the_connection_the_stream_and_a_feed_select_what_the_filter_says(graphql, catalog, data):
    filter = data.draw(filters(catalog))
    expected = [to_base64("Product", p.pk) for p in catalog if selects(filter, p)]
    edges = graphql(PAGE, {"filter": filter})["data"]["products"]["edges"]
    assert [edge["node"]["id"] for edge in edges] == expected
    held = criteria(filter)
    assert [to_base64("Product", p.pk) for p in catalog if held.matches(p)] == expected
    # The stream reads on threads of its own: a few examples suffice.
    if data.draw(st.integers(0, 4), label="stream too") == 0:
        assert async_to_sync(streamed)(filter) == expected


BAD_DECIMALS = ["abc", "", "1e999", "NaN", "-Infinity", "1.234", "0.001", "12345678901", 19.9, True]


@pytest.mark.parametrize("value", BAD_DECIMALS)
@pytest.mark.parametrize("field", ["price", "discountedPrice"])
@pytest.mark.parametrize("bound", ["gte", "lte"])
def test_a_bad_decimal_in_a_filter_is_a_clear_error(graphql, db, value, field, bound):
    body = graphql(PAGE, {"filter": {field: {bound: value}}}, errors=True)
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT", error
    assert f"{field}.{bound}" in error["message"], error  # says which
