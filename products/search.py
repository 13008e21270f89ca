"""Case-insensitive search, decided the same way by the database and by
Python (live subscribers test changed products without a query).

``icontains`` and ``str.lower()`` disagree: SQLite's LIKE folds ASCII letters
alone ("crème" misses "CRÈME"), and Python lowers a final "Σ" to "ς" where
PostgreSQL's UPPER keeps "Σ". So both sides compare text upper-cased one
character at a time, as PostgreSQL's UPPER does (Unicode's simple case
mapping: "ß" stays "ß"), and SQLite is given that function.
"""

from functools import lru_cache
from typing import Any

from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Func, Q, TextField
from django.db.models.lookups import Contains
from django.db.models.sql.compiler import SQLCompiler

SQLITE_FUNCTION = "conveyor_upper"


@lru_cache(maxsize=4096)
def _upper(character: str) -> str:
    # Python's upper() is the full mapping ("ß" → "SS"); where that is more
    # than one character, the simple mapping is the titlecase one when that
    # is a single character ("ᾳ" → "ᾼ"), else none.
    for mapped in (character.upper(), character.title()):
        if len(mapped) == 1:
            return mapped
    return character


def fold(text: str) -> str:
    return "".join(map(_upper, text))


class Folded(Func):
    function = "UPPER"
    output_field = TextField()

    def as_sqlite(
        self, compiler: SQLCompiler, connection: BaseDatabaseWrapper, **extra: Any
    ) -> tuple[str, list[Any]]:
        sql, params = self.as_sql(compiler, connection, function=SQLITE_FUNCTION, **extra)
        return sql, list(params)


def matching_text(search: str, *fields: str) -> Q:
    """Rows where any of ``fields`` contains ``search``, whatever the case;
    LIKE's wildcards in ``search`` are matched as themselves."""
    folded = fold(search)
    q = Q()
    for field in fields:
        q |= Q(Contains(Folded(field), folded))
    return q


def text_matches(search: str, *texts: str) -> bool:
    """``matching_text`` for values in hand."""
    folded = fold(search)
    return any(folded in fold(text) for text in texts)


def _fold_or_null(text: str | None) -> str | None:
    return None if text is None else fold(text)


def give_sqlite_the_function(connection: BaseDatabaseWrapper, **kwargs: Any) -> None:
    """A ``connection_created`` receiver (connected by the app's config)."""
    if connection.vendor == "sqlite":
        connection.connection.create_function(SQLITE_FUNCTION, 1, _fold_or_null, deterministic=True)
