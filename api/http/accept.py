"""The media ranges of an ``Accept`` header (RFC 9110 §12.5.1), parsed one
way for every negotiation of the endpoint: the JSON media type of a
response (api.http.media_types), a subscription's framing
(api.http.stream_negotiation) and incremental delivery (api.http.incremental).
Clients send few distinct headers: the parsed ranges are cached."""

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache


@dataclass(frozen=True)
class MediaRange:
    text: str  # as the client wrote it
    type: str  # "type/subtype", lower case
    params: Mapping[str, str]  # names lower case, values unquoted; q apart
    # A q that is no number from 0 to 1 counts as 0, so that it never wins
    # by mistake.
    quality: float
    malformed: str | None  # why, if a parameter is no name=value or q no number

    def specificity(self, media_type: str) -> int:
        """How closely this range names ``media_type``: 2 exactly, 1 as
        ``type/*``, 0 as ``*/*``, -1 not at all."""
        if self.type == media_type:
            return 2
        if self.type == f"{media_type.split('/')[0]}/*":
            return 1
        return 0 if self.type == "*/*" else -1


def _media_range(text: str) -> MediaRange | None:
    media_type, *parameters = (piece.strip() for piece in text.split(";"))
    if not media_type:
        return None
    params: dict[str, str] = {}
    quality, malformed = 1.0, None
    for parameter in filter(None, parameters):
        name, equals, value = (piece.strip() for piece in parameter.partition("="))
        value = value.strip("'\"")
        if name.lower() == "q":
            try:
                quality = float(value)
            except ValueError:
                quality = -1.0
            if not 0 <= quality <= 1:
                quality, malformed = 0.0, "q must be a number from 0 to 1"
        elif equals and name and value:
            params[name.lower()] = value
        else:
            malformed = f"parameter {parameter!r} has no value"
    return MediaRange(text.strip(), media_type.lower(), params, quality, malformed)


@lru_cache(maxsize=256)
def media_ranges(accept: str) -> tuple[MediaRange, ...]:
    return tuple(
        media_range for part in accept.split(",") if (media_range := _media_range(part)) is not None
    )


def quality_of(media_type: str, ranges: tuple[MediaRange, ...]) -> tuple[float, int]:
    """The q-value the header gives ``media_type``, from its most specific
    matching range, and how specific that range was (see
    MediaRange.specificity)."""
    best = (0.0, -1)
    for media_range in ranges:
        specificity = media_range.specificity(media_type)
        if specificity > best[1]:
            best = (media_range.quality, specificity)
    return best
