from typing import Any

import orjson
from cross_web import AsyncHTTPRequestAdapter, HTTPException
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.middleware.csrf import get_token
from strawberry.django.views import AsyncGraphQLView, TemporalHttpResponse
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData

from api.http.access_log import graphql_operation
from api.http.error_responses import error_response
from api.http.graphiql import render_graphiql
from api.http.incremental import IncrementalDelivery
from api.http.media_types import NOT_ACCEPTABLE, acceptable, negotiated, with_status
from api.http.subscriptions import StreamedSubscriptions
from persisted_queries.requests import with_document_id

# Requests refused before any GraphQL runs (strawberry's HTTPException) get
# a GraphQL-shaped JSON body like every other error, with a code by status.
HTTP_ERROR_CODES = {
    400: "BAD_REQUEST",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    406: "NOT_ACCEPTABLE",
}


# Subscriptions over HTTP claim their requests first; queries with @defer or
# @stream that ask for multipart are the incremental mixin's.
class GraphQLView(StreamedSubscriptions, IncrementalDelivery, AsyncGraphQLView):
    async def dispatch(  # type: ignore[override]
        self, request: HttpRequest, *args: Any, **kwargs: Any
    ) -> HttpResponseBase:
        operation = graphql_operation()
        if operation is not None and (request.method != "GET" or "query" in request.GET):
            operation.served = True
        if not acceptable(request.headers.get("Accept")):
            return request_error(NOT_ACCEPTABLE, 406)
        try:
            streamed = await self.streamed_subscription(request)
            return streamed if streamed is not None else await self.run(request=request)
        except HTTPException as error:
            return request_error(error.reason, error.status_code)

    def decode_json(self, data: str | bytes) -> object:
        # orjson, not json: Python's decoder raises RecursionError on JSON
        # nested a few thousand deep, orjson refuses past 1024 levels with a
        # decode error; it refuses invalid UTF-8, lone surrogates and NaN too.
        try:
            decoded = orjson.loads(data)
        except orjson.JSONDecodeError as error:
            raise HTTPException(400, f"The request is not valid JSON: {error}.") from None
        # A list is a batch, which strawberry refuses with its own message.
        if not isinstance(decoded, dict | list):
            raise HTTPException(400, "The request body must be a JSON object.")
        return decoded

    async def parse_http_body(
        self, request: AsyncHTTPRequestAdapter
    ) -> GraphQLRequestData | list[GraphQLRequestData]:
        data = await super().parse_http_body(request)
        # Relay and GraphQL Codegen name a persisted document beside `query`,
        # which strawberry does not keep: read again, for such requests only.
        if isinstance(data, GraphQLRequestData) and data.query is None:
            if request.method == "GET":
                parameters = request.query_params
            else:
                parameters = self.parse_json(await request.get_body())
            data.extensions = with_document_id(parameters, data.extensions)
        return data

    def encode_json(self, data: object) -> bytes:
        return orjson.dumps(data)

    async def get_sub_response(self, request: HttpRequest) -> TemporalHttpResponse:
        return negotiated(request, await super().get_sub_response(request))

    def create_response(
        self,
        response_data: GraphQLHTTPResponse | list[GraphQLHTTPResponse],
        sub_response: HttpResponse,
    ) -> HttpResponseBase:
        return super().create_response(*with_status(response_data, sub_response))

    async def render_graphql_ide(self, request: HttpRequest) -> HttpResponse:
        # GraphiQL sends the csrftoken cookie back as X-CSRFToken, so mutations
        # made from it with a session pass the CSRF check; this sets the cookie.
        get_token(request)
        return render_graphiql(request)


def request_error(message: str, status: int) -> JsonResponse:
    return error_response(message, HTTP_ERROR_CODES.get(status, "BAD_REQUEST"), status)
