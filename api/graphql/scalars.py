"""The contract's ``Decimal``: a JSON string with exactly two decimals ("19.90")."""

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

import strawberry

from api.graphql.errors import ClientError

CENT = Decimal("0.01")
# Digits allowed before the point, and after it: far more than any price or
# discount needs, yet a bound on what a filter hands the database.
MAX_DIGITS = 20


def serialize_decimal(value: Decimal) -> str:
    return format(Decimal(value).quantize(CENT, ROUND_HALF_UP), "f")


def parse_decimal(value: object) -> Decimal:
    # Strings are the contract; integers are unambiguous too. Floats are not
    # accepted: 0.1 + 0.2 is not a price. A ClientError, not a ValueError:
    # graphql-core keeps its code on the error it reports.
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ClientError(f'Decimal must be a string such as "19.90", not {value!r}.')
    try:
        parsed = Decimal(value.strip() if isinstance(value, str) else value)
    except InvalidOperation:
        raise ClientError(
            f'{value!r} is not a valid Decimal; use a string such as "19.90".'
        ) from None
    if not parsed.is_finite():
        raise ClientError(f"{value!r} is not a finite Decimal.")
    if parsed.adjusted() >= MAX_DIGITS or -int(parsed.as_tuple().exponent) > MAX_DIGITS:
        raise ClientError(
            f"Decimal out of range: at most {MAX_DIGITS} digits before the point and "
            f"{MAX_DIGITS} after."
        )
    return parsed


DECIMAL = strawberry.scalar(
    name="Decimal",
    description='A decimal number as a JSON string; money always has two decimals: "19.90".',
    serialize=serialize_decimal,
    parse_value=parse_decimal,
)
