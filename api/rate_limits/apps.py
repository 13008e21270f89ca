from django.apps import AppConfig


class RateLimitsConfig(AppConfig):
    name = "api.rate_limits"
    label = "rate_limits"
    verbose_name = "Rate limits"
