"""Resume tokens: what they carry, and the ones refused."""

from decimal import Decimal

import pytest
from django.core import signing

from api.graphql.errors import InvalidCursor
from products import resume
from products.changes import Frontier
from products.graphql.inputs import ProductOrder
from products.resume import StreamPosition
from products.selectors import DecimalRange, ProductCriteria, ProductOrderField

KEYSET = ProductOrder().to_keyset()
CRITERIA = ProductCriteria(
    search="lamp", category_ids=frozenset({3, 1, 2}), price=DecimalRange(lte=Decimal("10.00"))
)
POSITION = StreamPosition(
    after="a cursor", snapshot_complete=False, live=True, frontier=Frontier(42, (7, 9), 11)
)


def test_a_token_gives_back_what_it_was_made_of():
    token = resume.Tokens(KEYSET, CRITERIA).encode(POSITION)
    assert resume.Tokens(KEYSET, CRITERIA).decode(token) == POSITION


def test_equal_criteria_are_the_same_stream_however_their_sets_are_ordered():
    same = ProductCriteria(
        search="lamp", category_ids=frozenset({2, 3, 1}), price=DecimalRange(lte=Decimal("10"))
    )
    token = resume.Tokens(KEYSET, CRITERIA).encode(POSITION)
    assert resume.Tokens(KEYSET, same).decode(token) == POSITION


@pytest.mark.parametrize(
    ("criteria", "order"),
    [
        (ProductCriteria(search="lamps"), ProductOrder()),
        (ProductCriteria(), ProductOrder()),
        (CRITERIA, ProductOrder(field=ProductOrderField.PRICE)),
    ],
)
def test_a_token_of_another_filter_or_ordering_is_refused(criteria, order):
    token = resume.Tokens(KEYSET, CRITERIA).encode(POSITION)
    with pytest.raises(InvalidCursor, match="another filter or orderBy"):
        resume.Tokens(order.to_keyset(), criteria).decode(token)


@pytest.mark.parametrize("token", ["", "garbage", "a:b:c"])
def test_a_malformed_token_is_refused(token):
    with pytest.raises(InvalidCursor, match="malformed or was altered"):
        resume.Tokens(KEYSET, CRITERIA).decode(token)


def test_a_tampered_token_is_refused():
    token = resume.Tokens(KEYSET, CRITERIA).encode(POSITION)
    for index in range(len(token)):
        flipped = token[:index] + ("A" if token[index] != "A" else "B") + token[index + 1 :]
        with pytest.raises(InvalidCursor):
            resume.Tokens(KEYSET, CRITERIA).decode(flipped)


def test_a_token_of_another_version_is_refused():
    token = signing.Signer(salt="conveyor.resume").sign_object([0, "x"])
    with pytest.raises(InvalidCursor, match="another version"):
        resume.Tokens(KEYSET, CRITERIA).decode(token)
