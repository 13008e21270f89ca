"""The GraphQL endpoint over HTTP: the project's view on the project's schema."""

from django.views.decorators.csrf import csrf_exempt

from api.http.views import GraphQLView
from api.schema import schema

# Anonymous clients POST queries without a CSRF token; mutations made with a
# session pass Django's CSRF check in their permission (accounts.permissions).
graphql_view = csrf_exempt(GraphQLView.as_view(schema=schema))
