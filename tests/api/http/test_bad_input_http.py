"""A catalogue of bad requests against a real uvicorn: each is answered with
a JSON GraphQL error that says what is wrong and carries a code, never a
server error; nothing is written, and the server is healthy afterwards."""

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from strawberry.relay import to_base64

from accounts.factories import UserFactory
from accounts.models import ApiToken
from accounts.services import create_api_token
from products.factories import CategoryFactory, ProductFactory
from products.models import Category, Product
from tests.conftest import running_uvicorn

pytestmark = pytest.mark.django_db(transaction=True)

PRODUCTS = "query($f: ProductFilter) { products(filter: $f) { edges { cursor } } }"
PAGE = "query($first: Int, $last: Int, $after: String) { products(first: $first, last: $last, after: $after) { edges { cursor } } }"
NODE = "query($id: ID!) { node(id: $id) { id } }"
PRODUCT = "query($id: ID) { product(id: $id) { id } }"
CREATE = "mutation($input: CreateProductInput!) { createProduct(input: $input) { product { id } errors { field code } } }"
CREATE_CATEGORY = "mutation($name: String!) { createCategory(name: $name) { category { id } errors { field code } } }"
STREAM = "subscription($n: Int!) { productStream(batchSize: $n) { sequence } }"


def nested(depth: int) -> str:
    """products→edges→node→category→products… with its leaf at ``depth``,
    counted as strawberry's QueryDepthLimiter does (top-level fields are 0);
    pages of one, so that it is its depth, not its cost, that is judged."""
    path = ["products(first: 1)", "edges", "node", "category"]
    leaves = {"products(first: 1)": "totalCount", "edges": "cursor", "node": "id", "category": "id"}
    fields = [path[i % 4] for i in range(depth)]
    fields.append(leaves[fields[-1]])
    return "{ " + " { ".join(fields) + " }" * len(fields)


@dataclass(frozen=True)
class Request:
    method: str = "POST"
    json: Any = None
    content: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    params: dict[str, str] | None = None
    staff: bool = False  # sent with a staff user's API token


def post(query: str, variables: dict[str, Any] | None = None, **body: Any) -> Request:
    return Request(json={"query": query, "variables": variables, **body})


def raw(content: bytes, content_type: str = "application/json") -> Request:
    return Request(content=content, headers={"Content-Type": content_type})


def staff(query: str, variables: dict[str, Any]) -> Request:
    return Request(json={"query": query, "variables": variables}, staff=True)


def product_input(**fields: Any) -> dict[str, Any]:
    return {"input": {"sku": "SKU-1", "name": "Lamp", "price": "9.90", **fields}}


PAYLOAD = "payload"  # the mutation's payload errors, not a GraphQL error
BAD_REQUEST, PARSE, INVALID = "BAD_REQUEST", "GRAPHQL_PARSE_FAILED", "GRAPHQL_VALIDATION_FAILED"

# (name, request, expected status, expected extensions.code)
CASES: list[tuple[str, Request, int, str]] = [
    # The HTTP request itself.
    ("malformed JSON", raw(b'{"query": '), 400, BAD_REQUEST),
    ("wrong content type", raw(b'{"query": "{ __typename }"}', "text/plain"), 400, BAD_REQUEST),
    (
        "form body",
        raw(b"query=%7B__typename%7D", "application/x-www-form-urlencoded"),
        400,
        BAD_REQUEST,
    ),
    ("empty body", raw(b""), 400, BAD_REQUEST),
    (
        "JSON nested 100,000 deep",
        raw(b'{"query": "{ __typename }", "variables": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"),
        400,
        BAD_REQUEST,
    ),
    ("NaN in JSON", raw(b'{"query": "{ __typename }", "variables": {"x": NaN}}'), 400, BAD_REQUEST),
    ("JSON array body", raw(b'[{"query": "{ __typename }"}]'), 400, BAD_REQUEST),
    ("JSON string body", raw(b'"{ __typename }"'), 400, BAD_REQUEST),
    ("JSON null body", raw(b"null"), 400, BAD_REQUEST),
    ("no query", Request(json={}), 400, BAD_REQUEST),
    ("query not a string", Request(json={"query": 5}), 400, BAD_REQUEST),
    ("variables not an object", post("{ __typename }", variables=[1]), 400, BAD_REQUEST),  # type: ignore[arg-type]
    (
        "invalid UTF-8",
        raw(b'{"query": "{ products(filter: {search: \\"\xff\xfe\\"}) { totalCount } }"}'),
        400,
        BAD_REQUEST,
    ),
    (
        "huge body",
        post("{ __typename }", padding="x" * (1024 * 1024 + 1)),
        413,
        "PAYLOAD_TOO_LARGE",
    ),
    (
        "mutation over GET",
        Request(method="GET", params={"query": "mutation { logout }"}),
        400,
        BAD_REQUEST,
    ),
    ("PUT", Request(method="PUT", json={"query": "{ __typename }"}), 405, "METHOD_NOT_ALLOWED"),
    ("subscription over HTTP, batchSize 0", post(STREAM, {"n": 0}), 400, BAD_REQUEST),
    ("subscription over HTTP, batchSize 1001", post(STREAM, {"n": 1001}), 400, BAD_REQUEST),
    ("unknown operationName", post("query A { __typename }", operationName="B"), 400, BAD_REQUEST),
    (
        "malformed Bearer token",
        Request(json={"query": "{ __typename }"}, headers={"Authorization": "Bearer nope"}),
        401,
        "UNAUTHENTICATED",
    ),
    # The document.
    ("syntax error", post("{ products { "), 200, PARSE),
    ("two anonymous operations", post("{ __typename } { __typename }"), 200, INVALID),
    (
        "two operations, no operationName",
        post("query A { __typename } query B { __typename }"),
        200,
        INVALID,
    ),
    ("too deep", post(nested(11)), 200, INVALID),
    (
        "too many aliases",
        post("{ " + " ".join(f"a{i}: __typename" for i in range(31)) + " }"),
        200,
        INVALID,
    ),
    ("too many tokens", post("{ " + "__typename " * 5000 + "}"), 200, PARSE),
    ("unknown field", post("{ products { edges { node { secret } } } }"), 200, INVALID),
    ("bad enum value", post("{ products(orderBy: {field: STOCK}) { totalCount } }"), 200, INVALID),
    # Variables.
    ("string for Int", post(PAGE, {"first": "ten"}), 200, INVALID),
    ("Int beyond 32 bits", post(PAGE, {"first": 2**40}), 200, INVALID),
    ("object for ID", post(NODE, {"id": {"pk": 1}}), 200, INVALID),
    ("missing required variable", post(NODE, {}), 200, INVALID),
    ("first above 100", post(PAGE, {"first": 101}), 200, "BAD_USER_INPUT"),
    ("last negative", post(PAGE, {"last": -1}), 200, "BAD_USER_INPUT"),
    # IDs and cursors.
    ("ID not base64", post(NODE, {"id": "%%%"}), 200, "INVALID_ID"),
    (
        "ID with a non-numeric pk",
        post(NODE, {"id": to_base64("Product", "abc")}),
        200,
        "INVALID_ID",
    ),
    ("ID beyond bigint", post(PRODUCT, {"id": to_base64("Product", 2**70)}), 200, "INVALID_ID"),
    ("ID of pk 0", post(PRODUCT, {"id": to_base64("Product", 0)}), 200, "INVALID_ID"),
    ("cursor not base64", post(PAGE, {"after": "%%%"}), 200, "INVALID_CURSOR"),
    ("cursor with a bad signature", post(PAGE, {"after": "W10:AAAA"}), 200, "INVALID_CURSOR"),
    # Decimals in filters: the scalar's own error, BAD_USER_INPUT.
    ("Decimal abc", post(PRODUCTS, {"f": {"price": {"gte": "abc"}}}), 200, "BAD_USER_INPUT"),
    ("Decimal 1e309", post(PRODUCTS, {"f": {"price": {"gte": "1e309"}}}), 200, "BAD_USER_INPUT"),
    ("Decimal NaN", post(PRODUCTS, {"f": {"price": {"gte": "NaN"}}}), 200, "BAD_USER_INPUT"),
    (
        "Decimal Infinity",
        post(PRODUCTS, {"f": {"price": {"lte": "Infinity"}}}),
        200,
        "BAD_USER_INPUT",
    ),
    (
        "Decimal of 400 digits",
        post(PRODUCTS, {"f": {"price": {"lte": "9" * 400}}}),
        200,
        "BAD_USER_INPUT",
    ),
    ("Decimal as a float", post(PRODUCTS, {"f": {"price": {"lte": 1.5}}}), 200, "BAD_USER_INPUT"),
    ("NUL in search", post(PRODUCTS, {"f": {"search": "a\u0000b"}}), 200, "BAD_USER_INPUT"),
    # Mutations.
    ("anonymous mutation", post(CREATE, product_input()), 200, "FORBIDDEN"),
    ("unknown input field", staff(CREATE, product_input(colour="red")), 200, INVALID),
    ("missing input field", staff(CREATE, {"input": {"sku": "S", "name": "N"}}), 200, INVALID),
    ("price with three decimals", staff(CREATE, product_input(price="1.234")), 200, PAYLOAD),
    ("price -0", staff(CREATE, product_input(price="-0")), 200, PAYLOAD),
    ("price of 15 digits", staff(CREATE, product_input(price="9" * 15)), 200, PAYLOAD),
    ("NUL in a product name", staff(CREATE, product_input(name="La\u0000mp")), 200, PAYLOAD),
    ("NUL in a sku", staff(CREATE, product_input(sku="S\u0000")), 200, PAYLOAD),
    ("NUL in a category name", staff(CREATE_CATEGORY, {"name": "Gar\u0000den"}), 200, PAYLOAD),
    (
        "category ID of another type",
        staff(CREATE, product_input(categoryId=to_base64("Product", 1))),
        200,
        PAYLOAD,
    ),
]


def rows() -> tuple[int, int, int]:
    return Product.objects.count(), Category.objects.count(), ApiToken.objects.count()


@pytest.fixture
def staff_token() -> str:
    return create_api_token(UserFactory.create(staff=True)).token


@pytest.fixture
def client(uvicorn_server: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=uvicorn_server, timeout=30) as client:
        yield client


def send(client: httpx.Client, request: Request, token: str) -> httpx.Response:
    headers = dict(request.headers)
    if request.staff:
        headers["Authorization"] = f"Bearer {token}"
    return client.request(
        request.method,
        "/graphql/",
        json=request.json,
        content=request.content,
        headers=headers,
        params=request.params,
    )


@pytest.mark.parametrize(
    ("request_", "status", "code"),
    [pytest.param(request, status, code, id=name) for name, request, status, code in CASES],
)
def test_bad_request(
    client: httpx.Client, staff_token: str, request_: Request, status: int, code: str
) -> None:
    ProductFactory(category=CategoryFactory())  # something to find, and to spoil
    before = rows()

    response = send(client, request_, staff_token)

    assert response.status_code == status, response.text
    body = response.json()
    if code == PAYLOAD:
        (payload,) = body["data"].values()
        assert payload["errors"]
        assert all(error["code"] for error in payload["errors"])
    else:
        (error, *_) = body["errors"]
        assert error["message"]
        assert error["extensions"]["code"] == code, error
    assert rows() == before
    assert client.get("/healthz").status_code == 200


def test_the_catalogue_is_large_and_its_names_distinct() -> None:
    names = [name for name, *_ in CASES]
    assert len(names) == len(set(names)) >= 40


def test_the_deepest_legit_query_passes(client: httpx.Client) -> None:
    query = """{ products(first: 1) { edges { node { category { products(first: 1) {
        edges { node { priceIn(currency: "USD") { amount } } } } } } } } }"""
    ProductFactory(category=CategoryFactory())
    body = client.post("/graphql/", json={"query": query}).json()
    assert "errors" not in body, body
    assert "errors" not in client.post("/graphql/", json={"query": nested(10)}).json()
    (error,) = client.post("/graphql/", json={"query": nested(11)}).json()["errors"]
    assert "exceeds maximum operation depth of 10" in error["message"]


def test_introspection_is_on_by_default(client: httpx.Client) -> None:
    from graphql import get_introspection_query

    body = client.post("/graphql/", json={"query": get_introspection_query()}).json()
    assert "errors" not in body, body
    assert body["data"]["__schema"]["queryType"]["name"] == "Query"


def test_introspection_can_be_switched_off(test_database_url: str) -> None:
    settings = {"GRAPHQL_INTROSPECTION": "false"}
    with running_uvicorn(test_database_url, settings) as base_url:
        response = httpx.post(
            f"{base_url}/graphql/", json={"query": "{ __schema { types { name } } }"}
        )
        assert response.status_code == 200
        errors = response.json()["errors"]
        assert all("introspection" in error["message"] for error in errors), errors
        assert {error["extensions"]["code"] for error in errors} == {INVALID}
        typename = httpx.post(f"{base_url}/graphql/", json={"query": "{ __typename }"})
        assert typename.json()["data"] == {"__typename": "Query"}


def test_the_export_refuses_nul_in_search(client: httpx.Client) -> None:
    response = client.get("/export/products.csv", params={"search": "a\u0000b"})
    assert response.status_code == 400
    assert "NUL" in response.json()["error"]


def test_a_chunked_body_over_the_limit_is_refused(client: httpx.Client) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"query": "{ __typename }", "padding": "'
        for _ in range(80):
            yield b"x" * 16384  # 1.25 MiB in all, with no Content-Length
        yield b'"}'

    response = client.post(
        "/graphql/", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert response.json()["errors"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE"
    assert client.get("/healthz").status_code == 200


@pytest.mark.parametrize(
    ("query", "variables"),
    [
        (NODE, {"id": to_base64("Secret", 1)}),
        (PRODUCT, {"id": to_base64("Category", 1)}),
    ],
    ids=["unknown type", "another type"],
)
def test_an_id_naming_another_type_names_nothing(
    client: httpx.Client, query: str, variables: dict[str, Any]
) -> None:
    body = client.post("/graphql/", json={"query": query, "variables": variables}).json()
    assert "errors" not in body
    assert body["data"] == {next(iter(body["data"])): None}
