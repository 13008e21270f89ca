"""Reading an incremental delivery response (``multipart/mixed``) as a client
does: its parts as they arrive, and the result they add up to."""

import re
import time
from collections.abc import Iterator
from typing import Any

import httpx
import orjson


def parts(response: httpx.Response) -> Iterator[tuple[float, dict[str, Any]]]:
    """Each part's JSON as soon as its closing delimiter has arrived, with the
    ``time.perf_counter()`` of its arrival."""
    match = re.search(r'boundary="?([^";]+)"?', response.headers["content-type"])
    assert match, response.headers["content-type"]
    delimiter = b"\r\n--" + match.group(1).encode()
    # The body opens with a delimiter that no line break precedes.
    buffer = b"\r\n"
    for chunk in response.iter_bytes():
        buffer += chunk
        while (start := buffer.find(delimiter)) >= 0:
            body_start = start + len(delimiter)
            end = buffer.find(delimiter, body_start)
            if end < 0:
                if buffer[body_start : body_start + 2] == b"--":
                    return  # the closing delimiter
                break
            _headers, _, body = buffer[body_start:end].partition(b"\r\n\r\n")
            buffer = buffer[end:]
            yield time.perf_counter(), orjson.loads(body)


def merged(payloads: list[dict[str, Any]]) -> dict[str, Any]:
    """The response the parts add up to (graphql-core 3.3's payloads):
    ``{"data": …}``, with ``"errors"`` if any part had some."""
    data = payloads[0]["data"]
    errors = list(payloads[0].get("errors", []))
    paths: dict[str, list[str | int]] = {}
    for payload in payloads:
        for pending in payload.get("pending", []):
            paths[pending["id"]] = pending["path"]
        for entry in payload.get("incremental", []):
            target = data
            for key in [*paths[entry["id"]], *entry.get("subPath", [])]:
                target = target[key]
            if "items" in entry:
                target.extend(entry["items"])
            else:
                _merge(target, entry["data"])
            errors.extend(entry.get("errors", []))
        for completed in payload.get("completed", []):
            errors.extend(completed.get("errors", []))
    return {"data": data, **({"errors": errors} if errors else {})}


def _merge(target: dict[str, Any], source: dict[str, Any]) -> None:
    for key, value in source.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            _merge(target[key], value)
        else:
            target[key] = value
