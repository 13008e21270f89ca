"""``/metrics`` answered ahead of the rest of the stack, as the probes are
(api.health): scrapers come over plain HTTP from inside the cluster, by
whatever address reaches the process, so the HTTPS redirect and the Host
validation must not stand in their way; and their ``Authorization: Bearer
<METRICS_TOKEN>`` is no API token, which the token middleware would refuse.
The view and prometheus_client are imported on the first scrape: every
management command imports the middleware (the system checks)."""

from collections.abc import Awaitable, Callable

from asgiref.sync import markcoroutinefunction
from django.http import HttpRequest, HttpResponseBase

from api.http.lazy_views import imported_on_first_request

PATH = "/metrics"

metrics_view = imported_on_first_request("api.metrics.views.metrics_view")


class MetricsMiddleware:
    sync_capable = False
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Awaitable[HttpResponseBase]]) -> None:
        self.get_response = get_response
        markcoroutinefunction(self)

    async def __call__(self, request: HttpRequest) -> HttpResponseBase:
        if request.path_info == PATH:
            return await metrics_view(request)
        return await self.get_response(request)
