"""``GET /demo/``: the live catalog page (README, "The live catalog page"),
when ``DEMO_PAGE`` is on; otherwise there is no such page."""

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

# Everything the page loads is the app's own: its scripts and styles as
# files (no inline code), its data from /graphql/ over HTTP and the websocket.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self' {websocket_origin}",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    ]
)


async def demo_page(request: HttpRequest) -> HttpResponse:
    if not settings.DEMO_PAGE:
        raise Http404("The demo page is off (DEMO_PAGE).")
    response = render(request, "storefront/demo.html", {"currency": settings.CATALOG_CURRENCY})
    # Older browsers do not count ws: and wss: as 'self'.
    scheme = "wss" if request.is_secure() else "ws"
    response["Content-Security-Policy"] = CONTENT_SECURITY_POLICY.format(
        websocket_origin=f"{scheme}://{request.get_host()}"
    )
    return response
