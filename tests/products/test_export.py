"""The export endpoints over a real uvicorn, and the export_products command."""

import csv
import io
import json
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from django.core.management import CommandError, call_command
from strawberry import relay

from products.factories import CategoryFactory, ProductFactory
from tests.conftest import running_uvicorn

pytestmark = pytest.mark.django_db(transaction=True)

COLUMNS = [
    "id",
    "sku",
    "name",
    "category",
    "price",
    "discountPercent",
    "discountedPrice",
    "stock",
    "updatedAt",
]
PAGE = """query($after: String, $filter: ProductFilter, $orderBy: ProductOrder) {
  products(first: 100, after: $after, filter: $filter, orderBy: $orderBy) {
    edges { node { id sku name category { name } price discountPercent discountedPrice
                   stock updatedAt } }
    pageInfo { hasNextPage endCursor } } }"""


def gid(type_name: str, pk: int) -> str:
    return str(relay.GlobalID(type_name, str(pk)))


def catalog() -> dict[str, str]:
    """250 products in three categories (one discounted) and none; their category IDs."""
    made: list[Any] = [
        CategoryFactory(name="Tools"),
        CategoryFactory(name="Toys", discount_percent=Decimal(10)),
        CategoryFactory(name="Books"),
    ]
    tools, toys, books = made
    for n in range(250):
        ProductFactory(
            category=[tools, toys, books, None][n % 4],
            price=Decimal(100 + n % 37) / 4,  # many equal prices: the id breaks ties
            discount_percent=Decimal(n % 3 * 5) if n % 5 else None,
            stock=n % 7,
            name=f"{['Oak', 'Steel', 'Wool'][n % 3]} item {n}",
        )
    return {"tools": gid("Category", tools.pk), "toys": gid("Category", toys.pk)}


def connection_rows(client: httpx.Client, variables: dict[str, Any]) -> list[dict[str, Any]]:
    """Every row of the ``products`` connection, flattened to the export's columns."""
    rows: list[dict[str, Any]] = []
    after = None
    while True:
        body = client.post(
            "/graphql/", json={"query": PAGE, "variables": {**variables, "after": after}}
        ).json()
        page = body["data"]["products"]
        for edge in page["edges"]:
            node = edge["node"]
            rows.append({**node, "category": node["category"] and node["category"]["name"]})
        if not page["pageInfo"]["hasNextPage"]:
            return rows
        after = page["pageInfo"]["endCursor"]


CASES = [
    ({}, {}),
    (
        {"order": "-discounted_price"},
        {"orderBy": {"field": "DISCOUNTED_PRICE", "direction": "DESC"}},
    ),
    (
        {"on_sale": "true", "in_stock": "false", "order": "price"},
        {"filter": {"onSale": True, "inStock": False}, "orderBy": {"field": "PRICE"}},
    ),
    (
        {"search": "STEEL", "category": ["tools", "toys"], "order": "-name"},
        {
            "filter": {"search": "STEEL", "categories": ["tools", "toys"]},
            "orderBy": {"field": "NAME", "direction": "DESC"},
        },
    ),
    (
        {"on_sale": "0", "order": "-created_at"},
        {"filter": {"onSale": False}, "orderBy": {"direction": "DESC"}},
    ),
]


@pytest.mark.parametrize(("params", "variables"), CASES)
def test_both_formats_equal_the_connection(uvicorn_server, params, variables):
    categories = catalog()
    if "category" in params:
        ids = [categories[name] for name in params["category"]]
        params = {**params, "category": ids}
        variables = {**variables, "filter": {**variables["filter"], "categories": ids}}
    with httpx.Client(base_url=uvicorn_server) as client:
        expected = connection_rows(client, variables)
        ndjson = client.get("/export/products.ndjson", params=params)
        as_csv = client.get("/export/products.csv", params=params)
    assert expected  # each case matches some products
    assert [json.loads(line) for line in ndjson.text.splitlines()] == expected
    reader = csv.reader(io.StringIO(as_csv.text, newline=""))
    assert next(reader) == COLUMNS
    assert list(reader) == [
        ["" if value is None else str(value) for value in row.values()] for row in expected
    ]


def test_content_type_disposition_and_csv_quoting(uvicorn_server):
    tricky = 'Chair, "Deluxe"\nsecond line'
    product: Any = ProductFactory(name=tricky, category=None, price=Decimal("10.00"), stock=3)
    with httpx.Client(base_url=uvicorn_server) as client:
        as_csv = client.get("/export/products.csv")
        ndjson = client.get("/export/products.ndjson")
    assert as_csv.headers["content-type"].startswith("text/csv; charset=utf-8")
    assert as_csv.headers["content-disposition"] == 'attachment; filename="products.csv"'
    assert ndjson.headers["content-type"] == "application/x-ndjson; charset=utf-8"
    assert ndjson.headers["content-disposition"] == 'attachment; filename="products.ndjson"'
    # RFC 4180: CRLF between records, the field quoted, its quotes doubled.
    assert as_csv.content.startswith(b"id,sku,name,category,")
    assert b',"Chair, ""Deluxe""\nsecond line",,10.00,0.00,10.00,3,' in as_csv.content
    assert as_csv.content.endswith(b"\r\n")
    (_, row) = csv.reader(io.StringIO(as_csv.text, newline=""))
    assert row[:4] == [gid("Product", product.pk), product.sku, tricky, ""]
    assert json.loads(ndjson.text)["name"] == tricky


def test_an_empty_export(uvicorn_server):
    with httpx.Client(base_url=uvicorn_server) as client:
        assert client.get("/export/products.csv").text == ",".join(COLUMNS) + "\r\n"
        assert client.get("/export/products.ndjson").content == b""


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("order=cost", "order must be one of created_at, name, price, discounted_price"),
        ("on_sale=maybe", "on_sale must be true or false, not 'maybe'."),
        ("in_stock=true&in_stock=false", "in_stock takes one value, not 2."),
        ("category=nope", "category: 'nope' is not a valid ID."),
        ("onSale=true", "Unknown parameter onSale; known: search, category"),
    ],
)
def test_bad_parameters_are_a_400_saying_which(uvicorn_server, query, message):
    response = httpx.get(f"{uvicorn_server}/export/products.ndjson?{query}")
    assert response.status_code == 400
    assert message in response.json()["error"]


def windows_read(log: Path) -> int:
    return log.read_text().count("api.paging.windows read a window")


def test_a_client_that_disconnects_stops_the_reading(test_database_url, tmp_path):
    call_command("seed_products", "--count", "20000", "--no-progress", stdout=io.StringIO())
    log = tmp_path / "uvicorn.log"
    # Windows of 100 rows: the whole export is 200 of them.
    environment = {"STREAM_WINDOW_SIZE": "100", "LOG_LEVEL": "DEBUG"}
    with running_uvicorn(test_database_url, environment, log) as base_url:
        with httpx.stream("GET", f"{base_url}/export/products.csv") as response:
            received = b""
            for chunk in response.iter_raw():  # the header, then the first rows
                received += chunk
                if received.count(b"\r\n") > 1:
                    break
        assert received.startswith(b"id,sku,")
        time.sleep(1)
        read = windows_read(log)
        time.sleep(1)
        assert windows_read(log) == read  # no longer reading
        assert 1 <= read < 100
        # The server goes on serving, and a whole export reads every window.
        assert len(httpx.get(f"{base_url}/export/products.ndjson").text.splitlines()) == 20000
        assert windows_read(log) == read + 200


def test_the_command_writes_what_the_endpoint_serves(uvicorn_server, tmp_path):
    categories = catalog()
    for format in ["csv", "ndjson"]:
        output = tmp_path / f"export.{format}"
        out = io.StringIO()
        call_command(
            "export_products",
            "--format",
            format,
            "--output",
            str(output),
            "--category",
            categories["tools"],
            "--category",
            categories["toys"],
            "--on-sale",
            "true",
            "--order=-price",
            "--no-progress",
            stdout=out,
        )
        params = {"category": list(categories.values()), "on_sale": "true", "order": "-price"}
        download = httpx.get(f"{uvicorn_server}/export/products.{format}", params=params)
        assert output.read_bytes() == download.content
        count = len(download.text.splitlines()) - (format == "csv")
        assert out.getvalue() == f"Wrote {count} products to {output}.\n"
        assert not list(tmp_path.glob("*.partial"))


def test_the_command_refuses_bad_parameters(tmp_path):
    output = tmp_path / "export.csv"
    with pytest.raises(CommandError, match="order must be one of"):
        call_command(
            "export_products", "--format", "csv", "--output", str(output), "--order", "cost"
        )
    assert not output.exists()
