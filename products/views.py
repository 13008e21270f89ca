"""The export endpoints: ``GET /export/products.csv`` and ``/export/products.ndjson``."""

from django.http import HttpRequest, HttpResponseBase, JsonResponse, StreamingHttpResponse

from api.http.error_responses import error_response
from products.export import BadExportRequest, ExportFormat, ExportRequest, export_chunks


async def export_products(request: HttpRequest, format: str) -> HttpResponseBase:
    """``format`` is an ``ExportFormat``'s value, as the URLconf gives it."""
    if request.method != "GET":
        # Django's require_GET would answer an empty HTML page.
        refused = error_response("The export is read with GET.", "METHOD_NOT_ALLOWED", 405)
        refused["Allow"] = "GET"
        return refused
    export_format = ExportFormat(format)
    try:
        export = ExportRequest.from_params(dict(request.GET.lists()))
    except BadExportRequest as error:
        return JsonResponse({"error": str(error)}, status=400)
    # Django's ASGI handler sends each chunk as it comes, and cancels this
    # iterator when the client disconnects: the reading stops there.
    chunks = (chunk.data async for chunk in export_chunks(export, export_format))
    response = StreamingHttpResponse(chunks, content_type=export_format.content_type)
    response["Content-Disposition"] = f'attachment; filename="{export_format.filename}"'
    # Proxies such as nginx would otherwise buffer the whole download.
    response["X-Accel-Buffering"] = "no"
    return response
