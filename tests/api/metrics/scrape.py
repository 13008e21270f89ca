"""Reading ``/metrics`` as Prometheus does: with prometheus_client's own
parser of the text format."""

from collections.abc import Mapping

import httpx
from prometheus_client.parser import text_string_to_metric_families

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse(text: str) -> Samples:
    """Every sample, by name and labels."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def scrape(base_url: str, token: str | None = None) -> Samples:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = httpx.get(f"{base_url}/metrics", headers=headers, timeout=10)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=")
    return parse(response.text)


def value(samples: Samples, name: str, labels: Mapping[str, str] | None = None) -> float:
    """The sample's value; 0 for one not exported yet (a series with
    labels appears when first used)."""
    return samples.get((name, frozenset((labels or {}).items())), 0.0)


def names(samples: Samples) -> set[str]:
    return {name for name, _ in samples}
