"""Views imported on their first request rather than with the URLconf.

Every management command imports the URLconf (the system checks resolve it),
and none serves a request. The GraphQL endpoint and the export import
strawberry and the schema, most of what a command would otherwise spend
starting; named by their dotted path, they are imported when first called.
The server imports the schema as it starts (api.asgi), so no request waits.
"""

from collections.abc import Callable, Coroutine
from functools import cache
from typing import Any

from django.http import HttpRequest, HttpResponseBase
from django.utils.module_loading import import_string

AsyncView = Callable[..., Coroutine[Any, Any, HttpResponseBase]]


def imported_on_first_request(dotted_path: str) -> AsyncView:
    """The async view at ``dotted_path``, imported when first called."""

    @cache
    def imported() -> AsyncView:
        view: AsyncView = import_string(dotted_path)
        return view

    async def view(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        return await imported()(request, *args, **kwargs)

    return view
