"""Reads of the catalog: the filters and orderings every reader shares (the
GraphQL connections, and later the streams and exports)."""

from collections.abc import Collection, Hashable
from dataclasses import dataclass, fields
from decimal import Decimal
from enum import Enum

from django.db.models import Q, QuerySet

from api.paging.keyset import Keyset
from products.models import Category, Product
from products.search import matching_text, text_matches


@dataclass(frozen=True)
class DecimalRange:
    gte: Decimal | None = None
    lte: Decimal | None = None

    def q(self, field: str) -> Q:
        q = Q()
        if self.gte is not None:
            q &= Q(**{f"{field}__gte": self.gte})
        if self.lte is not None:
            q &= Q(**{f"{field}__lte": self.lte})
        return q

    def contains(self, value: Decimal) -> bool:
        return (self.gte is None or value >= self.gte) and (self.lte is None or value <= self.lte)


def _canonical(value: object) -> Hashable:
    if isinstance(value, DecimalRange):
        return (_canonical(value.gte), _canonical(value.lte))
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")  # 10 and 10.00 alike
    if isinstance(value, Collection) and not isinstance(value, str):
        return tuple(sorted(value))
    assert value is None or isinstance(value, bool | int | str), value
    return value


@dataclass(frozen=True)
class ProductCriteria:
    """What a reader asks of the catalog; ``None`` means "any"."""

    ids: Collection[int] | None = None
    search: str | None = None
    category_ids: Collection[int] | None = None
    price: DecimalRange | None = None
    discounted_price: DecimalRange | None = None
    on_sale: bool | None = None
    in_stock: bool | None = None

    def key(self) -> tuple[Hashable, ...]:
        """The same for equal criteria, whatever the kinds of their
        collections or the exponents of their decimals, in every process."""
        return tuple(_canonical(getattr(self, field.name)) for field in fields(self))

    def matches(self, product: Product) -> bool:
        """What ``filter_products`` selects, decided for one loaded product: live
        subscribers test each changed product without a query of their own.
        The two are held equal by tests."""
        return (
            (self.ids is None or product.pk in self.ids)
            and (not self.search or text_matches(self.search, product.name, product.sku))
            and (self.category_ids is None or product.category_id in self.category_ids)
            and (self.price is None or self.price.contains(product.price))
            and (
                self.discounted_price is None
                or self.discounted_price.contains(product.discounted_price)
            )
            and (self.on_sale is None or self.on_sale == (product.effective_discount_percent > 0))
            and (self.in_stock is None or self.in_stock == (product.stock > 0))
        )

    def could_have_held(self, id: int, *, deleted: bool) -> bool:
        """Whether a product that does not match now may have matched before
        its change. Only ``ids`` can rule it out: a product named by none of
        them never matched; with no other criterion, only deletion makes a
        product leave. Otherwise the state before the change is unknown."""
        if self.ids is not None and id not in self.ids:
            return False
        changeable = (
            self.search,
            self.category_ids,
            self.price,
            self.discounted_price,
            self.on_sale,
            self.in_stock,
        )
        return deleted or any(criterion is not None for criterion in changeable)


class ProductOrderField(Enum):
    CREATED_AT = "created_at"
    NAME = "name"
    PRICE = "price"
    DISCOUNTED_PRICE = "discounted_price"


def product_keyset(field: ProductOrderField, *, descending: bool = False) -> Keyset:
    direction = "DESC" if descending else "ASC"
    return Keyset(
        model=Product,
        name=f"{field.name} {direction}",
        fields=(field.value, "id"),
        descending=descending,
    )


CATEGORY_KEYSET = Keyset(model=Category, name="NAME ASC", fields=("name", "id"))


def filter_products(
    criteria: ProductCriteria, queryset: QuerySet[Product] | None = None
) -> QuerySet[Product]:
    products = Product.objects.all() if queryset is None else queryset
    q = Q()
    if criteria.ids is not None:
        q &= Q(pk__in=criteria.ids)
    if criteria.search:
        q &= matching_text(criteria.search, "name", "sku")
    if criteria.category_ids is not None:
        q &= Q(category_id__in=criteria.category_ids)
    if criteria.price is not None:
        q &= criteria.price.q("price")
    if criteria.discounted_price is not None:
        q &= criteria.discounted_price.q("discounted_price")
    if criteria.on_sale is not None:
        on_sale = Q(effective_discount_percent__gt=0)
        q &= on_sale if criteria.on_sale else ~on_sale
    if criteria.in_stock is not None:
        in_stock = Q(stock__gt=0)
        q &= in_stock if criteria.in_stock else ~in_stock
    return products.filter(q)


def categories() -> QuerySet[Category]:
    return Category.objects.all()


def products_by_id(ids: Collection[int]) -> QuerySet[Product]:
    """Whole rows with their category: what a live change shows, whatever the
    subscriber selects."""
    return Product.objects.filter(pk__in=ids).select_related("category")
