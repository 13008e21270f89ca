import pytest
from django.core.management import call_command
from django.db import connection


@pytest.mark.django_db
def test_models_and_committed_migrations_agree() -> None:
    # Exits non-zero when a model change has no migration.
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)


def database_triggers() -> set[str]:
    """The triggers and trigger functions of the catalog's tables."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal"
                " UNION SELECT proname FROM pg_proc WHERE proname LIKE 'products%%'"
            )
        else:
            cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
        return {name for (name,) in cursor.fetchall()}


@pytest.mark.django_db(transaction=True)
def test_the_capture_of_changes_migrates_back_and_forth() -> None:
    captured = database_triggers()
    assert "products_category_reprice" in captured
    call_command("migrate", "products", "0003", verbosity=0)
    assert database_triggers() == set()
    call_command("migrate", "products", verbosity=0)
    assert database_triggers() == captured
