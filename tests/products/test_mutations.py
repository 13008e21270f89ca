"""The catalog's mutations through the whole Django stack, as staff. Every
failure leaves the database as it was."""

from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from strawberry.permission import PermissionExtension
from strawberry.relay import to_base64

from accounts.factories import UserFactory
from accounts.permissions import ANONYMOUS, NOT_STAFF, CsrfProtected
from accounts.services import create_api_token
from api.schema import schema
from products.models import Category, Product

pytestmark = pytest.mark.django_db

PRODUCT = "product { id sku name description category { id } price discountPercent discountedPrice stock version }"
ERRORS = "errors { field message code }"

CREATE = f"""mutation($input: CreateProductInput!) {{
  createProduct(input: $input) {{ {PRODUCT} {ERRORS} }} }}"""
UPDATE = f"""mutation($id: ID!, $input: UpdateProductInput!) {{
  updateProduct(id: $id, input: $input) {{ {PRODUCT} {ERRORS} }} }}"""
DELETE = f"""mutation($id: ID!) {{ deleteProduct(id: $id) {{ deletedId {ERRORS} }} }}"""
CREATE_CATEGORY = f"""mutation($name: String!, $discountPercent: Decimal) {{
  createCategory(name: $name, discountPercent: $discountPercent) {{
    category {{ id name slug discountPercent }} {ERRORS} }} }}"""
SET_DISCOUNT = f"""mutation($categoryId: ID!, $percent: Decimal) {{
  setCategoryDiscount(categoryId: $categoryId, percent: $percent) {{
    category {{ id name slug discountPercent }} {ERRORS} }} }}"""


def gid(instance: Product | Category) -> str:
    return to_base64(type(instance).__name__, instance.pk)


def database() -> tuple[list[Any], list[Any]]:
    """Every row of the catalog, to show that a refused write changed nothing."""
    return (
        list(Product.objects.order_by("pk").values()),
        list(Category.objects.order_by("pk").values()),
    )


@pytest.fixture
def staff(client: Client) -> Any:
    user = UserFactory.create(staff=True)
    client.force_login(user)
    return user


@pytest.fixture
def category(category_factory) -> Category:
    category: Category = category_factory(name="Garden", discount_percent=Decimal("10"))
    return category


@pytest.fixture
def product(product_factory, category) -> Product:
    product: Product = product_factory(
        sku="LAMP-1", name="Lamp", category=category, price=Decimal("20.00"), stock=5
    )
    return product


def payload(graphql, query: str, **variables: Any) -> dict[str, Any]:
    (result,) = graphql(query, variables)["data"].values()
    return result


def refused(graphql, query: str, **variables: Any) -> list[tuple[str | None, str]]:
    """The payload errors of a write that must change nothing; (field, code) pairs."""
    before = database()
    result = payload(graphql, query, **variables)
    assert result["errors"], result
    assert database() == before
    return [(error["field"], error["code"]) for error in result["errors"]]


# createProduct


@pytest.mark.usefixtures("staff")
def test_create_product_with_the_required_fields_only(graphql):
    result = payload(graphql, CREATE, input={"sku": "MUG-1", "name": "Mug", "price": "9.90"})
    product = Product.objects.get()
    assert result == {
        "product": {
            "id": gid(product),
            "sku": "MUG-1",
            "name": "Mug",
            "description": "",
            "category": None,
            "price": "9.90",
            "discountPercent": "0.00",
            "discountedPrice": "9.90",
            "stock": 0,
            "version": 1,
        },
        "errors": [],
    }


@pytest.mark.usefixtures("staff")
def test_create_product_in_a_category_inherits_its_discount(graphql, category):
    result = payload(
        graphql,
        CREATE,
        input={
            "sku": "MUG-1",
            "name": "Mug",
            "description": "Holds tea.",
            "categoryId": gid(category),
            "price": "9.99",
            "stock": 7,
        },
    )
    assert result["errors"] == []
    created = result["product"]
    assert created["category"] == {"id": gid(category)}
    assert (created["discountPercent"], created["discountedPrice"]) == ("10.00", "8.99")
    assert (created["description"], created["stock"]) == ("Holds tea.", 7)


@pytest.mark.usefixtures("staff")
def test_a_products_own_discount_even_zero_overrides_its_categorys(graphql, category):
    result = payload(
        graphql,
        CREATE,
        input={
            "sku": "MUG-1",
            "name": "Mug",
            "categoryId": gid(category),
            "price": "10",
            "discountPercent": "0",
        },
    )
    assert (result["product"]["discountPercent"], result["product"]["discountedPrice"]) == (
        "0.00",
        "10.00",
    )
    assert Product.objects.get().discount_percent == Decimal("0")


@pytest.mark.usefixtures("staff")
@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"price": "0"}, [("price", "MIN_VALUE")]),
        ({"price": "-5.00"}, [("price", "MIN_VALUE")]),
        ({"price": "1.999"}, [("price", "MAX_DECIMAL_PLACES")]),
        ({"price": "99999999999"}, [("price", "MAX_WHOLE_DIGITS")]),
        ({"discountPercent": "100.01"}, [("discountPercent", "MAX_VALUE")]),
        ({"discountPercent": "-1"}, [("discountPercent", "MIN_VALUE")]),
        ({"discountPercent": "12.345"}, [("discountPercent", "MAX_DECIMAL_PLACES")]),
        ({"stock": -1}, [("stock", "MIN_VALUE")]),
        ({"sku": ""}, [("sku", "REQUIRED")]),
        ({"name": ""}, [("name", "REQUIRED")]),
        ({"sku": "X" * 65}, [("sku", "MAX_LENGTH")]),
        ({"categoryId": "not-an-id"}, [("categoryId", "INVALID_ID")]),
        ({"categoryId": to_base64("Category", "x")}, [("categoryId", "INVALID_ID")]),
        ({"categoryId": to_base64("Category", 999_999)}, [("categoryId", "NOT_FOUND")]),
        ({"categoryId": to_base64("Product", 1)}, [("categoryId", "NOT_FOUND")]),
        ({"sku": "LAMP-1"}, [("sku", "UNIQUE")]),
        (
            {"price": "0", "categoryId": to_base64("Category", 999_999)},
            [("categoryId", "NOT_FOUND"), ("price", "MIN_VALUE")],
        ),
    ],
)
def test_create_product_refuses_invalid_input(graphql, product, changes, expected):
    valid = {"sku": "MUG-1", "name": "Mug", "price": "9.90"}
    assert sorted(refused(graphql, CREATE, input={**valid, **changes})) == expected


@pytest.mark.usefixtures("staff")
def test_a_sku_taken_between_the_check_and_the_insert_is_a_payload_error(
    graphql, product, monkeypatch
):
    # As if another transaction had inserted the SKU after full_clean looked.
    monkeypatch.setattr(Product, "validate_unique", lambda self, exclude=None: None)
    input = {"sku": product.sku, "name": "Other lamp", "price": "9.90"}
    assert refused(graphql, CREATE, input=input) == [("sku", "UNIQUE")]


# updateProduct


@pytest.mark.usefixtures("staff")
def test_update_product_changes_only_the_fields_given(graphql, product):
    result = payload(
        graphql, UPDATE, id=gid(product), input={"name": "Desk lamp", "price": "30.00"}
    )
    assert result["errors"] == []
    assert result["product"] == {
        "id": gid(product),
        "sku": "LAMP-1",
        "name": "Desk lamp",
        "description": product.description,
        "category": {"id": gid(product.category)},
        "price": "30.00",
        "discountPercent": "10.00",
        "discountedPrice": "27.00",
        "stock": 5,
        "version": 2,
    }
    stored = Product.objects.get()
    assert (stored.name, stored.price, stored.stock, stored.version) == (
        "Desk lamp",
        Decimal("30.00"),
        5,
        2,
    )


@pytest.mark.usefixtures("staff")
def test_own_discount_then_clear_discount_inherits_the_categorys_again(graphql, product):
    own = payload(graphql, UPDATE, id=gid(product), input={"discountPercent": "50"})["product"]
    assert (own["discountPercent"], own["discountedPrice"], own["version"]) == ("50.00", "10.00", 2)

    cleared = payload(graphql, UPDATE, id=gid(product), input={"clearDiscount": True})["product"]
    assert (cleared["discountPercent"], cleared["discountedPrice"], cleared["version"]) == (
        "10.00",
        "18.00",
        3,
    )
    assert Product.objects.get().discount_percent is None


@pytest.mark.usefixtures("staff")
def test_a_null_discount_also_inherits_the_categorys(graphql, product_factory, category):
    product = product_factory(category=category, price=Decimal("20.00"), discount_percent=5)
    result = payload(graphql, UPDATE, id=gid(product), input={"discountPercent": None})
    assert result["product"]["discountPercent"] == "10.00"


@pytest.mark.usefixtures("staff")
def test_moving_a_product_to_another_category_or_none(graphql, product, category_factory):
    other = category_factory(discount_percent=Decimal("25"))
    moved = payload(graphql, UPDATE, id=gid(product), input={"categoryId": gid(other)})["product"]
    assert (moved["category"], moved["discountedPrice"]) == ({"id": gid(other)}, "15.00")

    alone = payload(graphql, UPDATE, id=gid(product), input={"categoryId": None})["product"]
    assert (alone["category"], alone["discountedPrice"], alone["version"]) == (None, "20.00", 3)


@pytest.mark.usefixtures("staff")
def test_a_null_description_empties_it(graphql, product):
    result = payload(graphql, UPDATE, id=gid(product), input={"description": None})
    assert result["product"]["description"] == ""


@pytest.mark.usefixtures("staff")
def test_an_update_that_changes_nothing_keeps_the_version(graphql, product):
    result = payload(
        graphql, UPDATE, id=gid(product), input={"name": "Lamp", "price": "20", "stock": 5}
    )
    assert (result["errors"], result["product"]["version"]) == ([], 1)
    assert payload(graphql, UPDATE, id=gid(product), input={})["product"]["version"] == 1


@pytest.mark.usefixtures("staff")
def test_the_expected_version_guards_against_lost_updates(graphql, product):
    current = payload(graphql, UPDATE, id=gid(product), input={"stock": 6, "expectedVersion": 1})
    assert (current["errors"], current["product"]["version"]) == ([], 2)

    before = database()
    stale = payload(graphql, UPDATE, id=gid(product), input={"stock": 7, "expectedVersion": 1})
    assert stale["product"] is None
    assert stale["errors"] == [
        {
            "field": "expectedVersion",
            "message": "The product has changed: its version is 2, not 1.",
            "code": "CONFLICT",
        }
    ]
    assert database() == before


@pytest.mark.usefixtures("staff")
@pytest.mark.parametrize(
    ("input", "expected"),
    [
        ({"name": None}, [("name", "REQUIRED")]),
        ({"name": ""}, [("name", "REQUIRED")]),
        ({"price": None}, [("price", "REQUIRED")]),
        ({"stock": None}, [("stock", "REQUIRED")]),
        ({"price": "0.00", "stock": -3}, [("price", "MIN_VALUE"), ("stock", "MIN_VALUE")]),
        ({"discountPercent": "101"}, [("discountPercent", "MAX_VALUE")]),
        ({"discountPercent": "5", "clearDiscount": True}, [("clearDiscount", "INVALID")]),
        ({"categoryId": "garbage"}, [("categoryId", "INVALID_ID")]),
        ({"categoryId": to_base64("Category", 999_999)}, [("categoryId", "NOT_FOUND")]),
        ({"name": "Fine", "expectedVersion": 7}, [("expectedVersion", "CONFLICT")]),
    ],
)
def test_update_product_refuses_invalid_input(graphql, product, input, expected):
    assert sorted(refused(graphql, UPDATE, id=gid(product), input=input)) == expected


@pytest.mark.usefixtures("staff")
@pytest.mark.parametrize(
    ("product_id", "code"),
    [
        (to_base64("Product", 999_999), "NOT_FOUND"),
        (to_base64("Category", 1), "NOT_FOUND"),
        ("garbage", "INVALID_ID"),
    ],
)
def test_an_unknown_or_malformed_product_id_is_a_payload_error(graphql, product, product_id, code):
    assert refused(graphql, UPDATE, id=product_id, input={"name": "X"}) == [("id", code)]
    assert refused(graphql, DELETE, id=product_id) == [("id", code)]


# deleteProduct


@pytest.mark.usefixtures("staff")
def test_delete_product(graphql, product, product_factory):
    kept = product_factory()
    result = payload(graphql, DELETE, id=gid(product))
    assert result == {"deletedId": gid(product), "errors": []}
    assert list(Product.objects.all()) == [kept]


# createCategory


@pytest.mark.usefixtures("staff")
def test_create_category_makes_a_unique_slug(graphql):
    first = payload(graphql, CREATE_CATEGORY, name="Garden Tools", discountPercent="15")
    second = payload(graphql, CREATE_CATEGORY, name="Garden  tools!")
    third = payload(graphql, CREATE_CATEGORY, name="Garden tools")
    assert first == {
        "category": {
            "id": gid(Category.objects.get(slug="garden-tools")),
            "name": "Garden Tools",
            "slug": "garden-tools",
            "discountPercent": "15.00",
        },
        "errors": [],
    }
    assert [second["category"]["slug"], third["category"]["slug"]] == [
        "garden-tools-2",
        "garden-tools-3",
    ]
    assert second["category"]["discountPercent"] is None


@pytest.mark.usefixtures("staff")
def test_a_name_without_letters_for_a_slug_still_gets_one(graphql):
    assert payload(graphql, CREATE_CATEGORY, name="!!!")["category"]["slug"] == "category"


@pytest.mark.usefixtures("staff")
@pytest.mark.parametrize(
    ("variables", "expected"),
    [
        ({"name": ""}, [("name", "REQUIRED")]),
        ({"name": "X" * 121}, [("name", "MAX_LENGTH")]),
        ({"name": "Sale", "discountPercent": "100.5"}, [("discountPercent", "MAX_VALUE")]),
        ({"name": "Sale", "discountPercent": "-0.01"}, [("discountPercent", "MIN_VALUE")]),
        ({"name": "Sale", "discountPercent": "0.001"}, [("discountPercent", "MAX_DECIMAL_PLACES")]),
    ],
)
def test_create_category_refuses_invalid_input(graphql, variables, expected):
    assert refused(graphql, CREATE_CATEGORY, **variables) == expected


# setCategoryDiscount


@pytest.mark.usefixtures("staff")
def test_a_category_discount_reprices_the_products_that_inherit_it(
    graphql, category, product, product_factory
):
    own = product_factory(category=category, price=Decimal("20.00"), discount_percent=Decimal(5))
    result = payload(graphql, SET_DISCOUNT, categoryId=gid(category), percent="25")
    assert result == {
        "category": {
            "id": gid(category),
            "name": "Garden",
            "slug": category.slug,
            "discountPercent": "25.00",
        },
        "errors": [],
    }
    inheriting, keeps_own = (Product.objects.get(pk=p.pk) for p in (product, own))
    assert (inheriting.discounted_price, inheriting.version) == (Decimal("15.00"), 2)
    assert (keeps_own.discounted_price, keeps_own.version) == (Decimal("19.00"), 1)


@pytest.mark.usefixtures("staff")
def test_a_null_category_discount_clears_it(graphql, category, product):
    result = payload(graphql, SET_DISCOUNT, categoryId=gid(category), percent=None)
    assert result["category"]["discountPercent"] is None
    stored = Product.objects.get()
    assert (stored.discounted_price, stored.version) == (Decimal("20.00"), 2)


@pytest.mark.usefixtures("staff")
@pytest.mark.parametrize(
    ("category_id", "percent", "expected"),
    [
        (None, "100.01", [("percent", "MAX_VALUE")]),
        (None, "-1", [("percent", "MIN_VALUE")]),
        (None, "1.005", [("percent", "MAX_DECIMAL_PLACES")]),
        (to_base64("Category", 999_999), "5", [("categoryId", "NOT_FOUND")]),
        ("garbage", "5", [("categoryId", "INVALID_ID")]),
    ],
)
def test_set_category_discount_refuses_invalid_input(
    graphql, category, product, category_id, percent, expected
):
    variables = {"categoryId": category_id or gid(category), "percent": percent}
    assert refused(graphql, SET_DISCOUNT, **variables) == expected


# Who may write


def every_mutation(product: Product, category: Category) -> list[tuple[str, dict[str, Any]]]:
    return [
        (CREATE, {"input": {"sku": "NEW-1", "name": "New", "price": "1.00"}}),
        (UPDATE, {"id": gid(product), "input": {"name": "Renamed"}}),
        (DELETE, {"id": gid(product)}),
        (CREATE_CATEGORY, {"name": "New"}),
        (SET_DISCOUNT, {"categoryId": gid(category), "percent": "50"}),
    ]


@pytest.mark.parametrize(
    ("user", "message"),
    [(None, ANONYMOUS), ({}, NOT_STAFF), ({"staff": True, "is_active": False}, ANONYMOUS)],
    ids=["anonymous", "not staff", "inactive staff"],
)
def test_only_active_staff_may_write(client: Client, graphql, product, category, user, message):
    if user is not None:
        client.force_login(UserFactory.create(**user))
    for query, variables in every_mutation(product, category):
        before = database()
        body = graphql(query, variables, errors=True)
        assert body["data"] is None
        (error,) = body["errors"]
        assert error["extensions"] == {"code": "FORBIDDEN"}, error
        assert error["message"] == message
        assert database() == before


def test_a_staff_session_must_pass_the_csrf_check(product, category):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(UserFactory.create(staff=True))
    for query, variables in every_mutation(product, category):
        before = database()
        response = browser.post(
            "/graphql/", {"query": query, "variables": variables}, content_type="application/json"
        )
        (error,) = response.json()["errors"]
        assert error["extensions"] == {"code": "FORBIDDEN"}
        assert error["message"] == "CSRF failed: CSRF cookie not set."
        assert database() == before


def test_a_staff_token_needs_no_csrf_token(product):
    token = create_api_token(UserFactory.create(staff=True)).token
    browser = Client(enforce_csrf_checks=True)
    response = browser.post(
        "/graphql/",
        {"query": UPDATE, "variables": {"id": gid(product), "input": {"stock": 9}}},
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.json()["data"]["updateProduct"]["product"]["stock"] == 9


def test_every_mutation_is_csrf_protected():
    mutation = schema.get_type_by_name("Mutation")
    for field in mutation.fields:  # type: ignore[union-attr]
        permissions = [
            permission
            for extension in field.extensions
            if isinstance(extension, PermissionExtension)
            for permission in extension.permissions
        ]
        assert any(isinstance(p, CsrfProtected) for p in permissions), field.name
