import pytest


@pytest.fixture
def fast_passwords(settings):
    """Password hashing made cheap: the default hasher is slow on purpose."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
