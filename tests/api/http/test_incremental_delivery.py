"""@defer and @stream over HTTP (multipart/mixed), against a real uvicorn."""

import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from products import services
from products.factories import CategoryFactory, ProductFactory
from tests.conftest import running_uvicorn
from tests.multipart_parts import merged, parts
from tests.server_probe import server_pid

pytestmark = pytest.mark.django_db(transaction=True)

MULTIPART = {"Accept": "multipart/mixed;incrementalSpec=v0.2, application/json;q=0.9"}
JSON = {"Accept": "application/json"}

DEFERRED_CATEGORY = """query Deferred { products(first: 3) { edges { node {
  sku name ... @defer(label: "category") { category { name } } } } } }"""

STREAMED_PAGE = """query Streamed($first: Int!, $initial: Int!) {
  products(first: $first) {
    totalCount
    edges @stream(initialCount: $initial) { cursor node { sku price category { name } } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }"""

PAGE = """query Page($after: String) { products(first: 100, after: $after) {
  edges { cursor } pageInfo { hasNextPage endCursor } } }"""


def post(base_url: str, query: str, headers: dict[str, str], **variables: Any) -> httpx.Response:
    return httpx.post(
        f"{base_url}/graphql/",
        json={"query": query, "variables": variables},
        headers=headers,
        timeout=30,
    )


def incremental(base_url: str, query: str, **variables: Any) -> list[dict[str, Any]]:
    """The parts of the multipart response to ``query``."""
    body = {"query": query, "variables": variables}
    with httpx.stream(
        "POST", f"{base_url}/graphql/", json=body, headers=MULTIPART, timeout=30
    ) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("multipart/mixed")
        return [payload for _, payload in parts(response)]


def catalog(count: int, **fields: Any) -> None:
    category = CategoryFactory(name="Lamps")
    services.add_products(ProductFactory.build_batch(count, category=category, **fields))


def test_defer_sends_category_in_a_later_part(uvicorn_server: str) -> None:
    catalog(3)
    payloads = incremental(uvicorn_server, DEFERRED_CATEGORY)
    first, *later = payloads
    assert first["hasNext"] is True
    assert [p["label"] for p in first["pending"]] == ["category"] * 3
    nodes = [edge["node"] for edge in first["data"]["products"]["edges"]]
    assert all("category" not in node and node["sku"] for node in nodes)
    assert later[-1]["hasNext"] is False
    entries = [entry for payload in later for entry in payload.get("incremental", [])]
    assert [entry["data"] for entry in entries] == [{"category": {"name": "Lamps"}}] * 3
    # Nothing but graphql-core's fields: strawberry added a `path`, a `label`
    # and `"extensions": null` to every part.
    assert all(set(entry) == {"id", "data"} for entry in entries)
    # The first part carries the response's extensions (its cost) alone.
    assert set(first.get("extensions", {})) <= {"cost"}
    assert all("extensions" not in payload for payload in later)
    whole = post(uvicorn_server, DEFERRED_CATEGORY, JSON).json()
    assert merged(payloads)["data"] == whole["data"]


def test_without_multipart_the_directives_complete_in_place(uvicorn_server: str) -> None:
    catalog(3)
    for headers in (JSON, {}, {"Accept": "multipart/mixed;deferSpec=20220824, */*"}):
        response = post(uvicorn_server, DEFERRED_CATEGORY, headers)
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("application/json")
        body = response.json()
        assert "hasNext" not in body
        assert "errors" not in body
        edges = body["data"]["products"]["edges"]
        assert [edge["node"]["category"] for edge in edges] == [{"name": "Lamps"}] * 3
    streamed = post(uvicorn_server, STREAMED_PAGE, JSON, first=3, initial=1).json()
    assert len(streamed["data"]["products"]["edges"]) == 3


def test_a_query_without_directives_is_answered_as_json(uvicorn_server: str) -> None:
    catalog(1)
    response = post(uvicorn_server, PAGE, MULTIPART)
    assert response.headers["content-type"].startswith("application/json")
    assert len(response.json()["data"]["products"]["edges"]) == 1


def test_stream_a_page_of_1000_edges(uvicorn_server: str) -> None:
    catalog(1001)
    payloads = incremental(uvicorn_server, STREAMED_PAGE, first=1000, initial=20)
    first = payloads[0]["data"]["products"]
    assert len(first["edges"]) == 20
    assert first["totalCount"] == 1001
    result = merged(payloads)
    assert "errors" not in result
    page = result["data"]["products"]
    cursors = [edge["cursor"] for edge in page["edges"]]
    # The same rows as paging through plain JSON, 100 at a time.
    paged: list[str] = []
    after = None
    while len(paged) < 1000:
        body = post(uvicorn_server, PAGE, JSON, after=after).json()["data"]["products"]
        paged += [edge["cursor"] for edge in body["edges"]]
        after = body["pageInfo"]["endCursor"]
    assert cursors == paged
    assert page["pageInfo"] == {
        "hasNextPage": True,
        "hasPreviousPage": False,
        "startCursor": cursors[0],
        "endCursor": cursors[-1],
    }
    last = post(uvicorn_server, PAGE, JSON, after=cursors[-1]).json()["data"]["products"]
    assert len(last["edges"]) == 1
    assert last["pageInfo"]["hasNextPage"] is False


def test_stream_backwards_and_past_the_end(uvicorn_server: str) -> None:
    catalog(30)
    whole = post(uvicorn_server, PAGE, JSON).json()["data"]["products"]["edges"]
    cursors = [edge["cursor"] for edge in whole]
    backwards = """query($before: String) { products(last: 25, before: $before) {
      edges @stream(initialCount: 5) { cursor } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }"""
    page = merged(incremental(uvicorn_server, backwards, before=cursors[-1]))["data"]["products"]
    assert [edge["cursor"] for edge in page["edges"]] == cursors[4:29]
    assert page["pageInfo"] == {
        "hasNextPage": True,
        "hasPreviousPage": True,
        "startCursor": cursors[4],
        "endCursor": cursors[28],
    }
    beyond = """query($after: String) { products(first: 500, after: $after) {
      edges @stream(initialCount: 0) { cursor } pageInfo { hasNextPage hasPreviousPage endCursor } } }"""
    tail = merged(incremental(uvicorn_server, beyond, after=cursors[9]))["data"]["products"]
    assert [edge["cursor"] for edge in tail["edges"]] == cursors[10:]
    assert tail["pageInfo"] == {
        "hasNextPage": False,
        "hasPreviousPage": True,
        "endCursor": cursors[-1],
    }
    empty = merged(incremental(uvicorn_server, beyond, after=cursors[-1]))["data"]["products"]
    assert empty["edges"] == []
    assert empty["pageInfo"] == {"hasNextPage": False, "hasPreviousPage": True, "endCursor": None}


def peak_memory_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    match = re.search(r"VmHWM:\s+(\d+) kB", status)
    assert match
    return int(match.group(1)) / 1024


def reset_peak_memory(pid: int) -> None:
    Path(f"/proc/{pid}/clear_refs").write_text("5")


@pytest.mark.slow
def test_a_streamed_page_leaves_early_and_holds_a_window_at_a_time(
    test_database_url: str, tmp_path: Path
) -> None:
    """Its first part leaves after its first window alone (21 rows: the 20
    edges and the one that tells whether more follow), and the server's
    peak memory grows a fraction of what the same page sent whole does."""
    catalog(1000, description="x" * 20_000)  # 20 MB of descriptions
    log = tmp_path / "server.log"
    settings = {
        "LOG_LEVEL": "DEBUG",
        "STREAM_WINDOW_SIZE": "100",
        # So that the same page can be asked for whole, to compare.
        "CONNECTION_MAX_PAGE_SIZE": "1000",
    }
    query = STREAMED_PAGE.replace("sku price", "sku description")
    with running_uvicorn(test_database_url, settings, log=log) as base_url:
        pid = server_pid(base_url)
        # Imports, connections and caches first; then each way once at full
        # size, so that what the allocator keeps after a first large request
        # is not put down to whichever is measured first.
        warm_up = len(incremental(base_url, query, first=30, initial=1))
        post(base_url, query, JSON, first=30, initial=1)
        warm_up += len(incremental(base_url, query, first=1000, initial=20))
        post(base_url, query, JSON, first=1000, initial=20)

        reset_peak_memory(pid)
        before = peak_memory_mb(pid)
        payloads = incremental(base_url, query, first=1000, initial=20)
        streamed = peak_memory_mb(pid) - before
        assert len(merged(payloads)["data"]["products"]["edges"]) == 1000

        reset_peak_memory(pid)
        before = peak_memory_mb(pid)
        whole = post(base_url, query, JSON, first=1000, initial=20)
        sent_whole = peak_memory_mb(pid) - before
        assert len(whole.json()["data"]["products"]["edges"]) == 1000

    lines = log.read_text().splitlines()
    events = [
        int(m.group(1)) if (m := re.search(r"read a window of (\d+) rows", line)) else "part"
        for line in lines
        if "read a window of" in line or "sending a part" in line
    ]
    part_positions = [n for n, event in enumerate(events) if event == "part"]
    streamed_events = events[part_positions[warm_up - 1] + 1 :]
    assert streamed_events[:2] == [21, "part"], events[:10]
    assert sum(e for e in streamed_events if isinstance(e, int)) >= 1000
    assert streamed < sent_whole / 3, f"streamed {streamed:.1f} MB, whole {sent_whole:.1f} MB"


def test_an_error_in_a_deferred_part_is_a_graphql_error_of_that_part(uvicorn_server: str) -> None:
    catalog(2)
    query = """{ products(first: 2) { edges { node {
      sku ... @defer { priceIn(currency: "EUR") { amount } } } } } }"""
    first, *later = incremental(uvicorn_server, query)
    assert "errors" not in first
    errors = [e for part in later for entry in part["incremental"] for e in entry["errors"]]
    assert [error["extensions"]["code"] for error in errors] == ["CURRENCY_UNAVAILABLE"] * 2
    assert errors[0]["path"][-1] == "priceIn"


@pytest.mark.parametrize(
    ("query", "accept", "status", "code", "message"),
    [
        (
            "{ products { edges @stream(initialCount: -1) { cursor } } }",
            MULTIPART["Accept"],
            200,
            "BAD_USER_INPUT",
            "must be 0 or more",
        ),
        (
            "{ products { edges { node { name @stream } } } }",
            MULTIPART["Accept"],
            200,
            "GRAPHQL_VALIDATION_FAILED",
            "non-list field",
        ),
        (
            "mutation Out { ... @defer { logout } }",
            MULTIPART["Accept"],
            200,
            "GRAPHQL_VALIDATION_FAILED",
            "root mutation type",
        ),
        (
            "{ products(first: 1001) { edges @stream { cursor } } }",
            MULTIPART["Accept"],
            200,
            "BAD_USER_INPUT",
            "at most 1000",
        ),
        (
            "{ products(first: 101) { edges @stream { cursor } } }",
            "application/json",
            200,
            "BAD_USER_INPUT",
            "up to 1000 when the edges are streamed",
        ),
        ("{ products { totalCount } }", "multipart/mixed;incrementalSpec", 400, "BAD_REQUEST", ""),
        # A range whose q is no number is no range (RFC 9110): nothing is left to answer with.
        ("{ products { totalCount } }", "multipart/mixed; q=high", 406, "NOT_ACCEPTABLE", ""),
    ],
)
def test_bad_input_gets_a_clear_error(
    uvicorn_server: str, query: str, accept: str, status: int, code: str, message: str
) -> None:
    response = post(uvicorn_server, query, {"Accept": accept})
    assert response.status_code == status
    assert response.headers["content-type"].startswith("application/json")
    [error] = response.json()["errors"]
    assert error["extensions"]["code"] == code
    assert message in error["message"]
    if status == 400:
        assert "incrementalSpec=v0.2" in error["message"]
