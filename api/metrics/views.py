"""``GET /metrics``: the series in Prometheus' text format, for scrapers that
send ``Authorization: Bearer <METRICS_TOKEN>`` when that is set."""

import hmac

from asgiref.sync import sync_to_async
from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from prometheus_client import CONTENT_TYPE_LATEST

import api.metrics.database  # noqa: F401  (the pool's series, sampled at each scrape)
from api.http.error_responses import NOT_FOUND, error_response
from api.metrics.registry import ENABLED, exposition
from api.metrics.sampling import sample

UNAUTHENTICATED = "UNAUTHENTICATED"


def authorized(request: HttpRequest) -> bool:
    token: str = settings.METRICS_TOKEN
    if not token:
        return True
    scheme, _, sent = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(sent.strip().encode(), token.encode())


async def metrics_view(request: HttpRequest) -> HttpResponseBase:
    if not ENABLED:
        return error_response("Metrics are switched off (METRICS_ENABLED).", NOT_FOUND, 404)
    if request.method not in {"GET", "HEAD"}:
        response = error_response("Use GET.", "METHOD_NOT_ALLOWED", 405)
        response["Allow"] = "GET, HEAD"
        return response
    if not authorized(request):
        response = error_response(
            "Send Authorization: Bearer <METRICS_TOKEN>.", UNAUTHENTICATED, 401
        )
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    await sample()
    # Several processes' series are files to read and sum.
    body = await sync_to_async(exposition, thread_sensitive=False)()
    return HttpResponse(body, content_type=CONTENT_TYPE_LATEST)
