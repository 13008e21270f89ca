"""Label values a client chooses (operation names) kept to a bounded set,
and the children of a labelled series kept per set of values."""

import functools
import threading
from collections.abc import Callable
from typing import TypeVar

from prometheus_client.metrics import MetricWrapperBase

Metric = TypeVar("Metric", bound=MetricWrapperBase)

OTHER = "other"


class BoundedValues:
    """The first ``limit`` distinct values admitted stand for themselves;
    any later one is ``"other"``. Per process: with several, each admits
    its own first ones, and the sums stay right."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._admitted: set[str] = set()
        self._lock = threading.Lock()

    def label(self, value: str, *, admit: bool = True) -> str:
        """``value`` if it is (or, with ``admit``, may become) one of the set."""
        if value in self._admitted:
            return value
        if not admit:
            return OTHER
        with self._lock:
            if len(self._admitted) >= self._limit:
                return OTHER
            self._admitted.add(value)
        return value


def children(metric: Metric) -> Callable[..., Metric]:
    """``metric.labels``, its child kept for each tuple of values: prometheus_client
    checks the values and takes a lock at every call, which costs more than
    the count itself. Every label of the project has a bounded set of values
    (``BoundedValues``, phases, transports), so what is kept is bounded too."""
    return functools.cache(metric.labels)
