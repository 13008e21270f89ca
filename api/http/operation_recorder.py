"""The schema extension that notes, for the access line (api.http.access_log), what
a GraphQL request's operation was and how it ended. A module apart from the
middleware: the admin's system checks import every middleware, in every
management command, and the middleware imports nothing of strawberry."""

from collections.abc import Iterator

from strawberry.extensions import SchemaExtension

from api.http.access_log import graphql_operation


class OperationRecorder(SchemaExtension):
    """Notes the operation's name, type and error codes for the access line."""

    def on_operation(self) -> Iterator[None]:
        yield
        record = graphql_operation()
        if record is None:
            return
        context = self.execution_context
        record.name = context.operation_name
        try:
            record.type = context.operation_type.value
        except RuntimeError:  # no document, or no such operation in it
            record.type = None
        errors = context.result.errors if context.result else None
        record.error_codes = [str((error.extensions or {}).get("code")) for error in errors or []]
