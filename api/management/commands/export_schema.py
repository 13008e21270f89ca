"""``manage.py export_schema api.schema --path schema.graphql``: strawberry-django's
command. Installing ``strawberry_django`` as an app would give it too, but
Django imports every app's package at start, and that package imports all of
strawberry (a second of every command); this module is imported only when
the command runs."""

from strawberry_django.management.commands.export_schema import Command

__all__ = ["Command"]
