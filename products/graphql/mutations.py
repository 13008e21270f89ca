"""Writes of the catalog, for staff only. Each resolver translates its input
and calls one service of products.services, which validates, writes in one
transaction and returns what it wrote, read back with the generated columns."""

from decimal import Decimal

import strawberry
from django.core.exceptions import ValidationError

from accounts.permissions import staff_only
from api.graphql.ids import global_id, input_pk
from api.graphql.payloads import UserError, run_write
from products import models, services
from products.graphql.types import Category, Product

# Model fields whose input field is named otherwise than their camelCase.
PRODUCT_INPUT_FIELDS = {"product": "id", "category": "categoryId"}
CATEGORY_DISCOUNT_FIELDS = {"category": "categoryId", "discount_percent": "percent"}


def _category_pk(category_id: strawberry.ID | None) -> int | None:
    return None if category_id is None else input_pk(category_id, models.Category, field="category")


@strawberry.input
class CreateProductInput:
    sku: str
    name: str
    description: str | None = None
    category_id: strawberry.ID | None = None
    price: Decimal
    discount_percent: Decimal | None = strawberry.field(
        default=None, description="The product's own discount; none: its category's."
    )
    stock: int | None = None

    def to_fields(self) -> services.ProductFields:
        fields = services.ProductFields(
            sku=self.sku,
            name=self.name,
            description=self.description,
            category_id=_category_pk(self.category_id),
            price=self.price,
            discount_percent=self.discount_percent,
        )
        if self.stock is not None:
            fields["stock"] = self.stock
        return fields


@strawberry.input(
    description="Only the fields given change. null clears what may be empty "
    "(description, categoryId; discountPercent: as clearDiscount) and is an error elsewhere."
)
class UpdateProductInput:
    name: str | None = strawberry.UNSET
    description: str | None = strawberry.UNSET
    category_id: strawberry.ID | None = strawberry.UNSET
    price: Decimal | None = strawberry.UNSET
    discount_percent: Decimal | None = strawberry.UNSET
    clear_discount: bool | None = strawberry.field(
        default=strawberry.UNSET,
        description="true: no discount of its own, so the category's applies again.",
    )
    stock: int | None = strawberry.UNSET
    expected_version: int | None = strawberry.field(
        default=None,
        description="The version the change is based on; another one: error CONFLICT.",
    )

    def to_changes(self) -> services.ProductFields:
        changes = services.ProductFields()
        if self.name is not strawberry.UNSET:
            changes["name"] = self.name
        if self.description is not strawberry.UNSET:
            changes["description"] = self.description
        if self.category_id is not strawberry.UNSET:
            changes["category_id"] = _category_pk(self.category_id)
        if self.price is not strawberry.UNSET:
            changes["price"] = self.price
        if self.discount_percent is not strawberry.UNSET:
            changes["discount_percent"] = self.discount_percent
        if self.clear_discount:
            if changes.get("discount_percent") is not None:
                message = "Give a discountPercent or clearDiscount: true, not both."
                raise ValidationError({"clear_discount": ValidationError(message, code="invalid")})
            changes["discount_percent"] = None
        if self.stock is not strawberry.UNSET:
            changes["stock"] = self.stock
        return changes


@strawberry.type
class ProductPayload:
    product: models.Product | None = strawberry.field(graphql_type=Product | None)
    errors: list[UserError]


@strawberry.type
class CategoryPayload:
    category: models.Category | None = strawberry.field(graphql_type=Category | None)
    errors: list[UserError]


@strawberry.type
class DeletePayload:
    deleted_id: strawberry.ID | None
    errors: list[UserError]


@strawberry.type
class Mutation:
    @strawberry.mutation(extensions=[staff_only()])
    async def create_product(self, input: CreateProductInput) -> ProductPayload:
        product, errors = await run_write(
            lambda: services.create_product(input.to_fields()), PRODUCT_INPUT_FIELDS
        )
        return ProductPayload(product=product, errors=errors)

    @strawberry.mutation(extensions=[staff_only()])
    async def update_product(self, id: strawberry.ID, input: UpdateProductInput) -> ProductPayload:
        product, errors = await run_write(
            lambda: services.update_product(
                input_pk(id, models.Product, field="product"),
                input.to_changes(),
                expected_version=input.expected_version,
            ),
            PRODUCT_INPUT_FIELDS,
        )
        return ProductPayload(product=product, errors=errors)

    @strawberry.mutation(extensions=[staff_only()])
    async def delete_product(self, id: strawberry.ID) -> DeletePayload:
        def delete() -> strawberry.ID:
            product_id = input_pk(id, models.Product, field="product")
            services.delete_product_by_id(product_id)
            return strawberry.ID(global_id(models.Product, product_id))

        deleted_id, errors = await run_write(delete, PRODUCT_INPUT_FIELDS)
        return DeletePayload(deleted_id=deleted_id, errors=errors)

    @strawberry.mutation(extensions=[staff_only()])
    async def create_category(
        self, name: str, discount_percent: Decimal | None = None
    ) -> CategoryPayload:
        category, errors = await run_write(lambda: services.create_category(name, discount_percent))
        return CategoryPayload(category=category, errors=errors)

    @strawberry.mutation(
        description="null clears the category-wide discount.", extensions=[staff_only()]
    )
    async def set_category_discount(
        self, category_id: strawberry.ID, percent: Decimal | None = None
    ) -> CategoryPayload:
        category, errors = await run_write(
            lambda: services.set_category_discount(
                input_pk(category_id, models.Category, field="category"), percent
            ),
            CATEGORY_DISCOUNT_FIELDS,
        )
        return CategoryPayload(category=category, errors=errors)
