from django.apps import AppConfig


class PersistedQueriesConfig(AppConfig):
    name = "persisted_queries"
    verbose_name = "Persisted queries"
