import random
from decimal import Decimal

import pytest

from products import pricing, services
from products.models import Product

D = Decimal


@pytest.mark.parametrize(
    ("price", "percent", "expected"),
    [
        ("10.05", "15", "8.54"),  # 8.5425
        ("0.05", "50", "0.03"),  # 0.025: half goes up
        ("2.01", "50", "1.01"),  # 1.005: a float would say 1.00
        ("19.99", "0", "19.99"),
        ("19.99", "100", "0.00"),
        ("0.01", "33.33", "0.01"),  # 0.006667
        ("999999999.99", "12.5", "874999999.99"),
    ],
)
def test_discounted_price_rounds_half_up_to_cents(price: str, percent: str, expected: str) -> None:
    assert pricing.discounted_price(D(price), D(percent)) == D(expected)


@pytest.mark.parametrize(
    ("amount", "rate", "expected"),
    [
        ("10.00", "0.9225", "9.23"),  # 9.225: half goes up, not to even
        ("10.00", "0.9224999", "9.22"),
        ("0.01", "0.4", "0.00"),
        ("19.99", "151.5", "3028.49"),  # 3028.485
        ("999999999.99", "1.0000001", "1000000099.99"),  # 1000000099.989999999
    ],
)
def test_converted_price_rounds_half_up_to_cents(amount: str, rate: str, expected: str) -> None:
    assert pricing.converted_price(D(amount), D(rate)) == D(expected)


def test_effective_discount_prefers_own_then_category_then_none() -> None:
    assert pricing.effective_discount(D("5"), D("20")) == D("5")
    assert pricing.effective_discount(D("0"), D("20")) == D("0")
    assert pricing.effective_discount(None, D("20")) == D("20")
    assert pricing.effective_discount(None, None) == D("0.00")


def _reload(product: Product) -> Product:
    return Product.objects.get(pk=product.pk)


@pytest.mark.parametrize(
    ("price", "percent", "expected"),
    [
        ("10.05", "15", "8.54"),
        ("0.05", "50", "0.03"),
        ("2.01", "50", "1.01"),
        ("3.35", "50", "1.68"),
    ],
)
def test_database_applies_the_same_rule(
    product_factory, price: str, percent: str, expected: str
) -> None:
    product = _reload(product_factory(price=D(price), discount_percent=D(percent)))
    assert product.effective_discount_percent == D(percent)
    assert product.discounted_price == D(expected)


def test_database_agrees_with_python_on_random_prices(product_factory, category_factory) -> None:
    rng = random.Random(7)
    category = category_factory(discount_percent=D("12.50"))
    made = []
    for _ in range(300):
        own = rng.choice([None, D(rng.randint(0, 10000)) / 100])
        made.append(
            product_factory(
                price=D(rng.randint(1, 10**8)) / 100, discount_percent=own, category=category
            )
        )
    for product in Product.objects.filter(pk__in=[p.pk for p in made]):
        percent = pricing.effective_discount(product.discount_percent, D("12.50"))
        assert product.effective_discount_percent == percent
        assert product.discounted_price == pricing.discounted_price(product.price, percent), product


def test_inherit_override_and_clear(product_factory, category_factory) -> None:
    category = category_factory(discount_percent=D("20"))
    inherits = product_factory(price=D("10.00"), category=category)
    overrides = product_factory(price=D("10.00"), category=category, discount_percent=D("0"))
    assert _reload(inherits).discounted_price == D("8.00")
    assert _reload(overrides).discounted_price == D("10.00")

    overrides.discount_percent = None  # clearing makes it inherit again
    services.save_product(overrides)
    assert _reload(overrides).discounted_price == D("8.00")

    category.discount_percent = D("50")
    services.save_category(category)
    assert _reload(inherits).discounted_price == D("5.00")
    category.discount_percent = None
    services.save_category(category)
    assert _reload(inherits).discounted_price == D("10.00")


def test_category_discount_raises_version_of_inheritors_only(
    product_factory, category_factory
) -> None:
    category = category_factory(discount_percent=None)
    inherits = product_factory(category=category)
    own = product_factory(category=category, discount_percent=D("10"))
    category.discount_percent = D("30")
    services.save_category(category)
    assert _reload(inherits).version == 2
    assert _reload(own).version == 1
    assert _reload(own).category_discount_percent == D("30")  # ready for a later clear

    services.save_category(category)  # nothing changed: no new version
    assert _reload(inherits).version == 2


def test_saving_a_product_raises_its_version(product_factory) -> None:
    product = product_factory()
    product.stock += 1
    services.save_product(product)
    assert product.version == 2
    assert _reload(product).version == 2


def test_a_stale_category_object_does_not_bring_back_an_old_discount(
    product_factory, category_factory
) -> None:
    category = category_factory(discount_percent=D("10"))
    product = product_factory(price=D("10.00"), category=category)
    fresh = type(category).objects.get(pk=category.pk)
    fresh.discount_percent = D("50")
    services.save_category(fresh)

    product.stock += 1  # product.category still says 10%
    services.save_product(product)
    assert _reload(product).discounted_price == D("5.00")
