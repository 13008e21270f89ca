"""Buckets kept in the database, for processes that share no Redis
(api.rate_limits.database_buckets). On PostgreSQL the table is UNLOGGED: a
crash empties it, which refills every bucket at once, and no write of it
goes through the write-ahead log or to a replica."""

from django.db import models


class Bucket(models.Model):
    key = models.CharField(max_length=300, primary_key=True)
    points = models.FloatField()
    # Seconds since the epoch on the database's clock, which every process
    # of every host reads alike.
    refilled_at = models.FloatField()
    capacity = models.FloatField()
    refill = models.FloatField()
    # The last take's, which its statement answers with.
    cost = models.FloatField()
    admitted = models.BooleanField()

    def __str__(self) -> str:
        return self.key
