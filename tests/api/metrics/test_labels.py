from api.metrics.labels import OTHER, BoundedValues


def test_values_past_the_limit_are_other_and_the_first_stay_themselves():
    values = BoundedValues(2)
    assert values.label("A") == "A"
    assert values.label("B") == "B"
    assert values.label("C") == OTHER
    assert values.label("A") == "A"


def test_a_value_not_admitted_does_not_take_a_place():
    values = BoundedValues(1)
    assert values.label("Typo", admit=False) == OTHER
    assert values.label("Real") == "Real"
    assert values.label("Typo", admit=False) == OTHER
