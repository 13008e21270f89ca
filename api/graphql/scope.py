"""State shared by the resolvers of one GraphQL execution, and no longer.

An execution is one HTTP request, or one event of a subscription (a
``productStream`` batch): graphql-core executes each event with the event as
the root value, while the context lives as long as the websocket. So the
state hangs off the root value when there is one, else off the context.
"""

from typing import Any, TypeVar

from strawberry.types import Info

T = TypeVar("T")

_ATTRIBUTE = "_execution_scope"


def scoped(info: Info, kind: type[T]) -> T:
    """The one ``kind()`` of the execution that ``info`` belongs to."""
    root = info._raw_info.root_value
    owner = root if root is not None else info.context
    if owner is None:  # executed without a context (e.g. in a script): nothing to share
        return kind()
    attributes = owner if isinstance(owner, dict) else vars(owner)
    scope: dict[type[Any], Any] = attributes.setdefault(_ATTRIBUTE, {})
    if kind not in scope:
        scope[kind] = kind()
    instance: T = scope[kind]
    return instance
