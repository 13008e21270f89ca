from collections.abc import Iterator

import pytest

from persisted_queries.selectors import forget_cached


@pytest.fixture(autouse=True)
def _empty_cache() -> Iterator[None]:
    # Each test's documents are rolled back with it; so are the cached ones.
    forget_cached()
    yield
    forget_cached()
