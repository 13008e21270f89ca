import factory
from django.contrib.auth.models import User
from factory.django import DjangoModelFactory, Password


class UserFactory(DjangoModelFactory[User]):
    class Meta:
        model = User

    class Params:
        staff = factory.Trait(is_staff=True)

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda user: f"{user.username}@example.com")
    # No password unless a test gives one: most log in with a token or force_login.
    password = Password(None)
