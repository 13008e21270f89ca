"""Health and readiness probes: ``/healthz`` (the process runs) and ``/readyz``
(the database answers).

They are answered by a middleware ahead of Django's security middleware, not
by the URLconf: probes come over plain HTTP, from inside the container or
the cluster, with whatever Host they reach the process by, and production's
HTTPS redirect (a 301) and host validation (a 400) must not turn a healthy
process into a failing probe."""

from collections.abc import Awaitable, Callable

from asgiref.sync import markcoroutinefunction, sync_to_async
from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponseBase, JsonResponse


async def healthz(request: HttpRequest) -> HttpResponseBase:
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


async def readyz(request: HttpRequest) -> HttpResponseBase:
    if await sync_to_async(_database_answers)():
        return JsonResponse({"status": "ready"})
    return JsonResponse({"status": "database unavailable"}, status=503)


PROBES = {"/healthz": healthz, "/readyz": readyz}


class ProbeMiddleware:
    """Answers the probes' paths, whatever the method, before anything that
    redirects to HTTPS or validates the Host header; passes on the rest."""

    sync_capable = False
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Awaitable[HttpResponseBase]]) -> None:
        self.get_response = get_response
        markcoroutinefunction(self)

    async def __call__(self, request: HttpRequest) -> HttpResponseBase:
        probe = PROBES.get(request.path_info)
        if probe is not None:
            return await probe(request)
        return await self.get_response(request)
