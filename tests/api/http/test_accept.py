"""The one parser of Accept headers that every negotiation of the endpoint
reads: ranges, parameters, q-values and what makes a range malformed."""

import pytest

from api.http.accept import media_ranges, quality_of


def test_ranges_keep_their_parameters_apart_from_q() -> None:
    (sse, multipart, json) = media_ranges(
        'text/event-stream, Multipart/Mixed; subscriptionSpec="1.0"; q=0.5 ,application/json;q=0'
    )
    assert (sse.type, sse.params, sse.quality, sse.malformed) == ("text/event-stream", {}, 1, None)
    assert multipart.type == "multipart/mixed"
    assert multipart.params == {"subscriptionspec": "1.0"}
    assert multipart.quality == 0.5
    assert multipart.text == 'Multipart/Mixed; subscriptionSpec="1.0"; q=0.5'
    assert json.quality == 0


@pytest.mark.parametrize(
    ("accept", "reason"),
    [
        ("multipart/mixed;incrementalSpec", "parameter 'incrementalSpec' has no value"),
        ("multipart/mixed;q=", "q must be a number from 0 to 1"),
        ("multipart/mixed;q=high", "q must be a number from 0 to 1"),
        ("multipart/mixed;q=1.5", "q must be a number from 0 to 1"),
    ],
)
def test_a_malformed_range_says_why_and_counts_for_nothing(accept: str, reason: str) -> None:
    (media_range,) = media_ranges(accept)
    assert media_range.malformed == reason
    if "q" in accept:
        assert media_range.quality == 0


def test_empty_ranges_are_no_ranges() -> None:
    assert media_ranges(" , ;q=1,") == ()


def test_the_most_specific_range_decides_the_quality() -> None:
    ranges = media_ranges("*/*;q=0.1, application/*;q=0.5, application/json;q=0.9")
    assert quality_of("application/json", ranges) == (0.9, 2)
    assert quality_of("application/xml", ranges) == (0.5, 1)
    assert quality_of("text/html", ranges) == (0.1, 0)
    assert quality_of("text/html", media_ranges("application/json")) == (0.0, -1)
