from pathlib import Path

from strawberry.printer import print_schema

from api.schema import schema

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "schema.graphql"


def test_schema_file_matches_the_code() -> None:
    assert SCHEMA_FILE.read_text() == print_schema(schema), (
        "schema.graphql is stale: run `python manage.py export_schema api.schema --path schema.graphql`"
    )
