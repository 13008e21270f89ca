from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from strawberry.django.views import AsyncGraphQLView


class GraphQLView(AsyncGraphQLView):
    async def render_graphql_ide(self, request: HttpRequest) -> HttpResponse:
        # GraphiQL sends the csrftoken cookie back as X-CSRFToken, so mutations
        # made from it with a session pass the CSRF check; this sets the cookie.
        get_token(request)
        return await super().render_graphql_ide(request)
