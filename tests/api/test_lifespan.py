"""A server process prunes the change log as it runs (api.lifespan)."""

import time

import pytest

from products.factories import ProductFactory
from products.models import ChangeLogHorizon, ProductChange
from tests.conftest import running_uvicorn

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_server_prunes_what_is_older_than_the_retention(test_database_url):
    ProductFactory.create_batch(3)
    last = ProductChange.objects.order_by("position").last()
    assert last is not None
    settings = {"CHANGE_LOG_RETENTION": "0", "CHANGE_LOG_PRUNE_INTERVAL": "0.2"}
    with running_uvicorn(test_database_url, settings):
        deadline = time.monotonic() + 10
        while ProductChange.objects.filter(position__lte=last.position).exists():
            assert time.monotonic() < deadline, "the log was not pruned"
            time.sleep(0.1)
    assert ChangeLogHorizon.objects.get(pk=1).pruned_through >= last.position


def test_pruning_off_leaves_the_log_alone(test_database_url):
    ProductFactory.create_batch(2)
    count = ProductChange.objects.count()
    settings = {"CHANGE_LOG_RETENTION": "0", "CHANGE_LOG_PRUNE_INTERVAL": "0"}
    with running_uvicorn(test_database_url, settings):
        time.sleep(0.5)
    assert ProductChange.objects.count() == count
