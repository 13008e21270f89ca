"""The ASGI entry point: ``uvicorn api.asgi:application``.

HTTP goes to Django; websockets at ``/graphql/`` (and ``/graphql``) to
strawberry's Channels consumer, which speaks ``graphql-transport-ws`` and the
legacy ``graphql-ws``.
"""

import os

from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler
from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "api.settings")
# Django must be set up before anything imports models. The admin's few
# static files are served by the same process, so one command runs everything.
django_application = ASGIStaticFilesHandler(get_asgi_application())

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.urls import re_path  # noqa: E402
from strawberry.channels import GraphQLWSConsumer  # noqa: E402

from api.schema import schema  # noqa: E402

graphql_websocket = GraphQLWSConsumer.as_asgi(schema=schema)

application = ProtocolTypeRouter(
    {
        "http": django_application,
        "websocket": URLRouter([re_path(r"^graphql/?$", graphql_websocket)]),
    }
)
