import strawberry
from strawberry.types import Info
from strawberry_django.optimizer import optimize

from api.graphql.errors import ClientError
from api.graphql.ids import decode_global_id, parse_pk
from api.paging.connection import Connection, PageRequest, paginate
from products import models, selectors
from products.graphql.types import Category, Product, resolve_products


@strawberry.type
class Query:
    products: Connection[Product] = strawberry.field(resolver=resolve_products)

    @strawberry.field(description="Categories by name.")
    async def categories(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[Category]:
        page = PageRequest(first=first, after=after, last=last, before=before)
        return await paginate(
            optimize(selectors.categories(), info), selectors.CATEGORY_KEYSET, page
        )

    @strawberry.field(description="One product, by its ID or by its SKU.")
    async def product(
        self,
        info: Info,
        id: strawberry.ID | None = None,
        sku: str | None = None,
    ) -> Product | None:
        if (id is None) == (sku is None):
            raise ClientError("Pass exactly one of `id` and `sku`.")
        products = selectors.filter_products(selectors.ProductCriteria())
        if id is not None:
            type_name, node_id = decode_global_id(id)
            if type_name != "Product":
                return None
            products = products.filter(pk=parse_pk(models.Product, node_id, id))
        else:
            products = products.filter(sku=sku)
        return await optimize(products, info).afirst()  # type: ignore[return-value]
