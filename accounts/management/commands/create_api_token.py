from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.services import create_api_token


class Command(BaseCommand):
    help = (
        "Makes an API token for an existing user and prints it alone on the last line. "
        "Only its hash is stored: it cannot be shown again."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--name", default="", help="what the token is for")

    def handle(self, *args: Any, username: str, name: str, **options: Any) -> None:
        User = get_user_model()
        try:
            user = User._default_manager.get_by_natural_key(username)
        except User.DoesNotExist:
            raise CommandError(f"No user is named {username!r}.") from None
        issued = create_api_token(user, name)
        self.stdout.write(
            f"API token {issued.api_token.prefix}… for {username}; send it as "
            "`Authorization: Bearer <token>`. It is not stored and cannot be shown again."
        )
        self.stdout.write(issued.token)
