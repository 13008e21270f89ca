"""Django's PostgreSQL backend, with a pool that recovers at once from a
database restart.

A restart cuts every pooled connection, and the pool learns it only by using
them. With ``CONN_HEALTH_CHECKS`` Django has the pool check a connection
before lending it, but psycopg_pool waits longer after each failed check (0,
1, 2, 4 … s): with four idle connections cut, a request waits 7 s for a
sound one; with five, 15 s, past the default DB_POOL_TIMEOUT. Here the
first failed check has the pool check every idle connection at once (an
empty query each), so the next connection it lends is sound or new.
"""

from typing import Any

import psycopg
from django.core.exceptions import ImproperlyConfigured
from django.db.backends.base.base import NO_DB_ALIAS
from django.db.backends.postgresql import base
from psycopg_pool import ConnectionPool


class DatabaseWrapper(base.DatabaseWrapper):
    @property
    def pool(self) -> ConnectionPool[Any] | None:
        """Django's pool, built as Django builds it, but for the check."""
        pool_options = self.settings_dict["OPTIONS"].get("pool")
        if self.alias == NO_DB_ALIAS or not pool_options:
            return None
        pools: dict[str, ConnectionPool[Any]] = self._connection_pools  # type: ignore[attr-defined]
        if self.alias not in pools:
            if self.settings_dict.get("CONN_MAX_AGE", 0) != 0:
                raise ImproperlyConfigured("Pooling doesn't support persistent connections.")
            connect_kwargs = self.get_connection_params()
            connect_kwargs["autocommit"] = True  # Django sets it properly later on
            pool = ConnectionPool(
                kwargs=connect_kwargs,
                open=False,
                configure=self._configure_connection,  # type: ignore[attr-defined]
                check=self._check_connection,
                **(pool_options if isinstance(pool_options, dict) else {}),
            )
            # As Django: of pools built at once by several threads, one wins.
            pools.setdefault(self.alias, pool)
        return pools[self.alias]

    def _check_connection(self, connection: psycopg.Connection[Any]) -> None:
        try:
            ConnectionPool.check_connection(connection)
        except Exception:
            pool = self.pool
            assert pool is not None
            pool.check()  # the others were most likely cut together with it
            raise
