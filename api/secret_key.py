"""Production refuses a SECRET_KEY that anyone can read: one written in a file
of the project (a default, an example, a compose file). The key signs paging
cursors, stream resume tokens and sessions; a published one lets anyone forge
them.

The project's files are those under its root but for hidden ones (``.git``,
``.venv``, ``.env``: the local environment, where a real key may well be
kept) and virtual environments; large files (a database) are skipped."""

import os
from collections.abc import Iterable, Iterator
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

LARGEST_FILE = 1024 * 1024  # bytes


def project_files(root: Path) -> Iterator[Path]:
    for directory, subdirectories, files in os.walk(root):
        here = Path(directory)
        subdirectories[:] = [
            name
            for name in subdirectories
            if not name.startswith(".") and not (here / name / "pyvenv.cfg").exists()
        ]
        for name in files:
            path = here / name
            if not name.startswith(".") and path.stat().st_size <= LARGEST_FILE:
                yield path


def published_in(secret: str, root: Path) -> Path | None:
    """The first of the project's files that holds ``secret``, if any."""
    needle = secret.encode()
    for path in project_files(root):
        try:
            if needle in path.read_bytes():
                return path
        except OSError:  # unreadable, or gone meanwhile: not published by it
            continue
    return None


def refuse_published_keys(secret_key: str, fallbacks: Iterable[str], root: Path) -> None:
    """Raises ImproperlyConfigured if the key or one of its fallbacks (which
    still verify signatures) is written in one of the project's files."""
    named = [("SECRET_KEY", secret_key), *(("SECRET_KEY_FALLBACKS", key) for key in fallbacks)]
    for name, key in named:
        if published := published_in(key, root):
            raise ImproperlyConfigured(
                f"{name} holds a key written in {published.relative_to(root)}, which anyone "
                "can read: set a random one of your own."
            )
