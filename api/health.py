from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse


async def healthz(request: HttpRequest) -> HttpResponse:
    return JsonResponse({"status": "ok"})


def _database_answers() -> bool:
    # A probe must answer within its own timeout, not the pool's: ask the
    # PostgreSQL pool directly, with READINESS_TIMEOUT.
    pool = getattr(connection, "pool", None)
    try:
        if pool is not None:
            pool.open()  # as Django does on first use; a no-op once open
            with pool.connection(timeout=settings.READINESS_TIMEOUT) as pooled:
                return bool(pooled.execute("SELECT 1").fetchone() == (1,))
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
