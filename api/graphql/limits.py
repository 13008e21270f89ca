"""Limits on what one GraphQL document may ask, for HTTP and websockets alike.

Each is a schema extension of strawberry's, configured from the settings
(``GRAPHQL_MAX_DEPTH``, ``GRAPHQL_MAX_ALIASES``, ``GRAPHQL_MAX_TOKENS``,
``GRAPHQL_INTROSPECTION``). A document over a limit is refused before it runs,
with a validation error (``GRAPHQL_VALIDATION_FAILED``), or for too many
tokens a parse error (``GRAPHQL_PARSE_FAILED``): the parser stops counting
there instead of building the whole tree.
"""

from collections.abc import Callable

from django.conf import settings
from graphql import ASTValidationRule, NoSchemaIntrospectionCustomRule
from strawberry.extensions import AddValidationRules, MaxTokensLimiter, SchemaExtension
from strawberry.extensions.max_aliases import create_validator as max_aliases_rule
from strawberry.extensions.query_depth_limiter import IgnoreContext
from strawberry.extensions.query_depth_limiter import create_validator as max_depth_rule


def _introspection(context: IgnoreContext) -> bool:
    # GraphiQL's introspection query nests `ofType` about ten deep; the schema
    # bounds it, not the client, so the depth limit leaves it out.
    return context.field_name.startswith("__")


def validation_rules() -> list[type[ASTValidationRule]]:
    rules: list[type[ASTValidationRule]] = [
        max_depth_rule(settings.GRAPHQL_MAX_DEPTH, _introspection),
        max_aliases_rule(settings.GRAPHQL_MAX_ALIASES),
    ]
    if not settings.GRAPHQL_INTROSPECTION:
        rules.append(NoSchemaIntrospectionCustomRule)
    return rules


def limit_extensions() -> list[Callable[[], SchemaExtension]]:
    """Factories of the extensions, one set per operation. The rules are made
    once: strawberry's ValidationCache keys its entries by them, and rules made
    anew for every operation would never hit it."""
    rules = validation_rules()
    max_tokens = settings.GRAPHQL_MAX_TOKENS
    return [
        lambda: AddValidationRules(rules),
        lambda: MaxTokensLimiter(max_token_count=max_tokens),
    ]
