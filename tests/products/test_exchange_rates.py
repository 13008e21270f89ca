from decimal import Decimal

import pytest

from products.exchange_rates import RatesUnavailable, currency_code, parse_rates


def test_rates_keep_the_decimals_as_written() -> None:
    rates = parse_rates(b'{"base": "USD", "rates": {"EUR": 0.1, "JPY": 151}}', "USD")
    assert rates.rate("EUR") == Decimal("0.1")
    assert rates.rate("JPY") == Decimal(151)


@pytest.mark.parametrize(
    "body",
    [
        b"[]",
        b'{"base": "USD"}',
        b'{"base": "USD", "rates": []}',
        b'{"base": "EUR", "rates": {"GBP": 0.8}}',  # rates of another base
        b'{"base": "USD", "rates": {"EUR": "0.9"}}',
        b'{"base": "USD", "rates": {"EUR": 0}}',
        b'{"base": "USD", "rates": {"EUR": -1.2}}',
        b'{"base": "USD", "rates": {"euro": 0.9}}',
        b'{"base": "USD", "rates": {"EUR": NaN}}',
    ],
)
def test_a_malformed_answer_is_no_answer(body: bytes) -> None:
    with pytest.raises(RatesUnavailable, match="no valid USD rates"):
        parse_rates(body, "USD")


@pytest.mark.parametrize(("value", "code"), [("EUR", "EUR"), (" gbp ", "GBP")])
def test_currency_codes(value: str, code: str) -> None:
    assert currency_code(value) == code


@pytest.mark.parametrize("value", ["", "EU", "EURO", "E1R", "€"])
def test_what_is_no_currency_code(value: str) -> None:
    with pytest.raises(RatesUnavailable, match="is not a currency code"):
        currency_code(value)
