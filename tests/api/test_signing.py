"""api.signing signs exactly as Django does, and either accepts the other's values."""

from django.core import signing
from hypothesis import given
from hypothesis import strategies as st

from api.signing import Signer
from tests.properties import examples

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)


@examples(200)
@given(value=JSON, compress=st.booleans())
def test_signs_as_django_does(value: object, compress: bool) -> None:
    django, ours = signing.Signer(salt="test"), Signer(salt="test")
    signed = ours.sign_object(value, compress=compress)
    assert signed == django.sign_object(value, compress=compress)
    assert django.unsign_object(signed) == value == ours.unsign_object(signed)


def test_accepts_values_signed_with_a_fallback_key() -> None:
    old = signing.Signer(key="old", salt="test").sign_object([1, "x"])
    assert Signer(key="new", fallback_keys=["old"], salt="test").unsign_object(old) == [1, "x"]
