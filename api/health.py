from asgiref.sync import sync_to_async
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse


async def healthz(request: HttpRequest) -> HttpResponse:
    return JsonResponse({"status": "ok"})


def _database_answers() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            return bool(cursor.fetchone() == (1,))
    except Exception:
        return False
    finally:
        # Outside a request cycle nothing else gives the connection back.
        connection.close()


async def readyz(request: HttpRequest) -> HttpResponse:
    if await sync_to_async(_database_answers)():
        return JsonResponse({"status": "ready"})
    return JsonResponse({"status": "database unavailable"}, status=503)
