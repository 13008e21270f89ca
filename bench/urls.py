"""The project's routes plus ``/stock-graphql/``, the baseline schema, so that
both are served by the same process and compared under the same load."""

from django.urls import path
from django.views.decorators.csrf import csrf_exempt
from strawberry.django.views import AsyncGraphQLView

from api.urls import urlpatterns as api_urlpatterns
from bench.stock_schema import schema as stock_schema

# Same view options as the project's /graphql/ route, so only the schema differs.
stock_view = csrf_exempt(AsyncGraphQLView.as_view(schema=stock_schema))

urlpatterns = [
    *api_urlpatterns,
    path("stock-graphql/", stock_view, name="stock-graphql"),
]
