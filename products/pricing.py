"""The pricing rule, once in Python and once in SQL, so that what the database
orders and filters by is exactly what the API shows.

A product's effective discount is its own discount if it has one (even 0),
else its category's, else 0. The customer pays
``price × (100 − discount) / 100``, rounded half-up to cents.
"""

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import DecimalField, F, Func, Value
from django.db.models.functions import Coalesce
from django.db.models.sql.compiler import SQLCompiler

CENT = Decimal("0.01")
NO_DISCOUNT = Decimal("0.00")
HUNDRED = Decimal(100)


def effective_discount(own: Decimal | None, category: Decimal | None) -> Decimal:
    if own is not None:
        return own
    if category is not None:
        return category
    return NO_DISCOUNT


def discounted_price(price: Decimal, discount_percent: Decimal) -> Decimal:
    return (price * (HUNDRED - discount_percent) / HUNDRED).quantize(CENT, ROUND_HALF_UP)


def effective_discount_sql() -> Coalesce:
    return Coalesce(
        F("discount_percent"),
        F("category_discount_percent"),
        Value(NO_DISCOUNT),
        output_field=DecimalField(max_digits=5, decimal_places=2),
    )


class DiscountedPriceSQL(Func):
    """``discounted_price()`` as a column expression (used by a GeneratedField)."""

    def __init__(self, price: Any, discount_percent: Any) -> None:
        super().__init__(
            price,
            discount_percent,
            output_field=DecimalField(max_digits=12, decimal_places=2),
        )

    def _compile_operands(self, compiler: SQLCompiler) -> tuple[str, str, list[Any]]:
        price_sql, price_params = compiler.compile(self.source_expressions[0])
        percent_sql, percent_params = compiler.compile(self.source_expressions[1])
        return price_sql, percent_sql, [*price_params, *percent_params]

    def as_sql(  # type: ignore[override]
        self,
        compiler: SQLCompiler,
        connection: BaseDatabaseWrapper,
        **extra_context: Any,
    ) -> tuple[str, list[Any]]:
        # numeric arithmetic is exact, and ROUND(x, 2) rounds halves away from
        # zero: half-up for the positive prices we store.
        price, percent, params = self._compile_operands(compiler)
        return f"ROUND(({price}) * (100 - ({percent})) / 100, 2)", params

    def as_sqlite(
        self,
        compiler: SQLCompiler,
        connection: BaseDatabaseWrapper,
        **extra_context: Any,
    ) -> tuple[str, list[Any]]:
        # SQLite keeps decimals as binary floats, where 2.01 × 50 / 100 rounds
        # to 1.00 instead of 1.01; integer cents and basis points are exact.
        price, percent, params = self._compile_operands(compiler)
        sql = (
            f"((CAST(ROUND(({price}) * 100) AS INTEGER)"
            f" * (10000 - CAST(ROUND(({percent}) * 100) AS INTEGER)) + 5000)"
            " / 10000) / 100.0"
        )
        return sql, params


def discounted_price_sql() -> DiscountedPriceSQL:
    return DiscountedPriceSQL(F("price"), effective_discount_sql())


def converted_price(amount: Decimal, rate: Decimal) -> Decimal:
    """``amount`` at ``rate`` (units of the other currency per unit of ours),
    rounded half-up to cents like every price the API shows."""
    return (amount * rate).quantize(CENT, ROUND_HALF_UP)
