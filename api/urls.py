from django.contrib import admin
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from api.http.lazy_views import imported_on_first_request

# Exempt here as well: the CSRF middleware looks at the view the URL names.
graphql_view = csrf_exempt(imported_on_first_request("api.http.endpoints.graphql_view"))
export_products = imported_on_first_request("products.views.export_products")
metrics = imported_on_first_request("api.metrics.views.metrics_view")

urlpatterns = [
    path("graphql/", graphql_view, name="graphql"),
    path("graphql", graphql_view),
    # The format by its value (products.export.ExportFormat), which the view parses.
    path("export/products.csv", export_products, {"format": "csv"}, name="export-csv"),
    path("export/products.ndjson", export_products, {"format": "ndjson"}, name="export-ndjson"),
    path("admin/", admin.site.urls),
    path("metrics", metrics, name="metrics"),
]

# Errors Django answers itself are JSON too (api.http.error_responses).
handler400 = "api.http.error_responses.bad_request"
handler403 = "api.http.error_responses.permission_denied"
handler404 = "api.http.error_responses.page_not_found"
handler500 = "api.http.error_responses.server_error"
