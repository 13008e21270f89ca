"""Model fields of the GraphQL types, read the cheap way when they can be.

strawberry-django runs every field of a Django type through the full
resolver chain (an ``Info`` object, argument parsing, extension wrappers),
because some fields need it: relations, resolvers, deferred columns. For a
plain column that the query already loaded, that chain costs several times
the read itself, and a stream batch of 500 products reads thousands of them.
``ColumnField`` declares such fields basic, so strawberry hands the value
over directly; a column the query did not load still takes the safe path.
"""

from typing import Any

from strawberry.types import Info
from strawberry_django.fields.field import StrawberryDjangoField


class ColumnField(StrawberryDjangoField):
    @property
    def is_basic_field(self) -> bool:
        return (
            self.base_resolver is None
            and not self.is_relation
            and not self.extensions
            and not self.permission_classes
        )

    def get_result(
        self, source: Any, info: Info | None, args: list[Any], kwargs: dict[str, Any]
    ) -> Any:
        if info is None:  # strawberry's call for a basic field
            try:
                return source.__dict__[self.django_name]
            except KeyError:
                pass
        return super().get_result(source, info, args, kwargs)
