"""Settings shared by the property-based tests (hypothesis)."""

from hypothesis import HealthCheck, settings


def examples(count: int) -> settings:
    """The examples a test tries; its products, made once by its fixtures,
    are the same for all (read only)."""
    return settings(
        deadline=None,
        max_examples=count,
        suppress_health_check=[HealthCheck.function_scoped_fixture],
    )
