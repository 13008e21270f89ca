"""Static files, served by the application itself so that one command runs
everything, in development and in production alike (README, "GraphiQL").

Django's handler finds them in the apps' ``static/`` folders, whatever
``DEBUG`` is, so no ``collectstatic`` is needed. A file whose URL names its
version, npm-style (``graphiql@3.8.3/graphiql.min.js``), never changes under
that URL: a new version is a new URL. Browsers may keep such a file for a year
without asking again. The others (the admin's) keep Django's revalidation by
``Last-Modified``.
"""

import re

from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler
from django.http import FileResponse, HttpRequest
from django.utils.cache import patch_cache_control

VERSIONED = re.compile(r"/[^/]+@\d+(\.\d+)*/")
A_YEAR = 365 * 24 * 60 * 60


class StaticFilesHandler(ASGIStaticFilesHandler):
    def serve(self, request: HttpRequest) -> FileResponse:
        response = super().serve(request)
        if VERSIONED.search(request.path):
            patch_cache_control(response, public=True, max_age=A_YEAR, immutable=True)
        return response
