"""``search`` is case-insensitive beyond ASCII, takes LIKE's wildcards as
themselves, and is decided alike by the database and by a live feed."""

import pytest

from products.factories import ProductFactory
from products.selectors import ProductCriteria, filter_products

NAME = "Crème Σίσυφος Straße 50%_off"


@pytest.mark.parametrize(
    ("search", "found"),
    [
        ("CRÈME", True),
        ("crème", True),
        ("ΣΊΣΥΦΟΣ", True),  # Python alone would lower the last Σ to ς
        ("σίσυφος", True),
        ("STRAßE", True),
        ("STRASSE", False),  # upper case letter by letter, as PostgreSQL: ß stays
        ("50%_OFF", True),
        ("5%", False),  # wildcards are characters
        ("e_5", False),
        ("\\", False),
    ],
)
def test_search_matches_letters_in_any_case_and_wildcards_as_themselves(db, search, found):
    product = ProductFactory.create(name=NAME)
    criteria = ProductCriteria(search=search)
    assert filter_products(criteria).filter(pk=product.pk).exists() is found
    assert criteria.matches(product) is found
