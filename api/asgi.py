"""The ASGI entry point: ``uvicorn api.asgi:application``.

HTTP goes to Django; websockets at ``/graphql/`` (and ``/graphql``) to
strawberry's Channels consumer, which speaks ``graphql-transport-ws`` and the
legacy ``graphql-ws``, behind Channels' session and user middleware so that
the session cookie counts on a websocket as it does over HTTP.
"""

import gc
import os

from django.core.asgi import get_asgi_application

from api.http.static_files import StaticFilesHandler

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "api.settings")
# Django must be set up before anything imports models. Static files (the
# admin's, GraphiQL's) are served by the same process (api.http.static_files).
django_application = StaticFilesHandler(get_asgi_application())

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.urls import re_path  # noqa: E402

from api.http.body_limit import BodySizeLimit  # noqa: E402
from api.lifespan import lifespan  # noqa: E402
from api.schema import schema  # noqa: E402
from api.tracing.http import traced  # noqa: E402
from api.websocket.consumer import GraphQLConsumer  # noqa: E402

graphql_websocket = GraphQLConsumer.as_asgi(schema=schema)

application = ProtocolTypeRouter(
    {
        "http": traced(BodySizeLimit(django_application)),
        "websocket": AuthMiddlewareStack(URLRouter([re_path(r"^graphql/?$", graphql_websocket)])),
        "lifespan": lifespan,
    }
)

# Everything loaded so far (Django, the schema, the modules) lives as long as
# the process: out of the collector's sight, a full collection walks only what
# requests and subscriptions made, and pauses every subscriber for less.
gc.freeze()
