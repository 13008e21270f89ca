from django.contrib import admin
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from api.health import healthz, readyz
from api.schema import schema
from api.views import GraphQLView
from products.export import ExportFormat
from products.views import export_products

# Anonymous clients POST queries without a CSRF token; mutations made with a
# session pass Django's CSRF check in their permission (accounts.permissions).
graphql_view = csrf_exempt(GraphQLView.as_view(schema=schema))

urlpatterns = [
    path("graphql/", graphql_view, name="graphql"),
    path("graphql", graphql_view),
    path("export/products.csv", export_products, {"format": ExportFormat.CSV}, name="export-csv"),
    path(
        "export/products.ndjson",
        export_products,
        {"format": ExportFormat.NDJSON},
        name="export-ndjson",
    ),
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
    path("admin/", admin.site.urls),
]

# Errors Django answers itself are JSON too (api.error_responses).
handler400 = "api.error_responses.bad_request"
handler403 = "api.error_responses.permission_denied"
handler404 = "api.error_responses.page_not_found"
handler500 = "api.error_responses.server_error"
