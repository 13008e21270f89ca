"""Django settings: every knob comes from the environment (see README, "Configuration")."""

import os
from pathlib import Path

import dj_database_url
import django_stubs_ext
from corsheaders.defaults import default_headers
from django.core.exceptions import ImproperlyConfigured

from api.secret_key import refuse_published_keys

# Generic admin and queryset classes at run time, as the type stubs declare them.
django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", False)
# Development is the default so that a fresh checkout just runs; production
# (DJANGO_ENV=production) refuses to start without a real secret.
PRODUCTION = os.environ.get("DJANGO_ENV", "development") == "production"

_DEV_SECRET_KEY = "dev-insecure-conveyor-secret-key-do-not-use-in-production"
SECRET_KEY = os.environ.get("SECRET_KEY", "" if PRODUCTION else _DEV_SECRET_KEY)
SECRET_KEY_FALLBACKS = env_list("SECRET_KEY_FALLBACKS")
if PRODUCTION:
    if len(SECRET_KEY) < 50:
        raise ImproperlyConfigured(
            "DJANGO_ENV=production needs SECRET_KEY set to a random value of at least 50 "
            "characters, e.g. python3 -c 'import secrets; print(secrets.token_urlsafe(50))'."
        )
    # The development key above among them: it is written in this file.
    refuse_published_keys(SECRET_KEY, SECRET_KEY_FALLBACKS, BASE_DIR)

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "" if PRODUCTION else "localhost,127.0.0.1,[::1]")
CORS_ALLOWED_ORIGINS = env_list("CORS_ALLOWED_ORIGINS")
# Browser clients may send their own request id and read the one answered.
CORS_ALLOW_HEADERS = (*default_headers, "x-request-id", "last-event-id")
CORS_EXPOSE_HEADERS = ["X-Request-ID"]
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", ",".join(CORS_ALLOWED_ORIGINS))
# A write Django's CSRF check refuses gets the API's JSON error, not an HTML page.
CSRF_FAILURE_VIEW = "api.http.error_responses.csrf_failure"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "corsheaders",
    "channels",
    # The project's own: GraphiQL's template and static files (api/http/graphiql.py)
    # and commands (export_schema); no models.
    "api",
    "accounts",
    "products",
    "storefront",
    "persisted_queries",
    "api.rate_limits",
]

MIDDLEWARE = [
    # Outermost: gives every request its id and logs it, whatever answers it.
    "api.http.access_log.AccessLogMiddleware",
    # /healthz and /readyz, on plain HTTP and any Host: before the HTTPS
    # redirect and the host validation of the middleware below.
    "api.health.ProbeMiddleware",
    # /metrics, for the same reasons, and before the token middleware below.
    "api.metrics.middleware.MetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # A Bearer token, when sent, authenticates the request in place of the session.
    "accounts.middleware.BearerTokenMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "api.urls"
ASGI_APPLICATION = "api.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]


def database_config(url: str) -> dict[str, object]:
    config: dict[str, object] = dict(dj_database_url.parse(url, conn_max_age=0))
    options: dict[str, object] = dict(config.get("OPTIONS") or {})  # type: ignore[call-overload]
    if config["ENGINE"] == "django.db.backends.postgresql":
        # A pool instead of persistent connections: under ASGI, CONN_MAX_AGE > 0
        # keeps one connection per worker thread and leaks them.
        options["pool"] = {
            "min_size": int(os.environ.get("DB_POOL_MIN_SIZE", "2")),
            "max_size": int(os.environ.get("DB_POOL_MAX_SIZE", "10")),
            "timeout": float(os.environ.get("DB_POOL_TIMEOUT", "10")),
            # Seconds before connections above min_size that sat unused close.
            "max_idle": float(os.environ.get("DB_POOL_MAX_IDLE", "600")),
            # The pool retries a lost connection after 1, 2, 4 … s: after a long
            # outage it would wait that long again once PostgreSQL is back.
            # Giving up soon instead lets the next request connect at once.
            "reconnect_timeout": float(os.environ.get("DB_POOL_RECONNECT_TIMEOUT", "2")),
        }
        # Django's backend, but for a pool that, finding a connection cut, checks
        # them all (api.postgresql); each is checked before it is lent.
        config["ENGINE"] = "api.postgresql"
        # Every read is a bounded keyset window, so server-side cursors buy
        # nothing and would break behind a transaction-pooling proxy.
        config["DISABLE_SERVER_SIDE_CURSORS"] = True
    elif config["ENGINE"] == "django.db.backends.sqlite3":
        # WAL lets readers run beside a writer; IMMEDIATE avoids lock upgrades.
        options.setdefault("init_command", "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;")
        options.setdefault("transaction_mode", "IMMEDIATE")
        options.setdefault("timeout", 20)
    config["OPTIONS"] = options
    return config


DATABASES = {
    "default": database_config(
        os.environ.get("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}"
    )
}

# Seconds /readyz waits for the database before answering 503.
READINESS_TIMEOUT = float(os.environ.get("READINESS_TIMEOUT", "2"))

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"

# Behind TLS in production; plain HTTP in development.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if PRODUCTION else None
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = env_bool("SECURE_COOKIES", PRODUCTION)
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", PRODUCTION)
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "31536000" if PRODUCTION else "0"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = PRODUCTION
SECURE_HSTS_PRELOAD = PRODUCTION

# Catalog paging limits of the public contract.
CONNECTION_DEFAULT_PAGE_SIZE = 20
CONNECTION_MAX_PAGE_SIZE = int(os.environ.get("CONNECTION_MAX_PAGE_SIZE", "100"))
# A page whose edges are streamed (`edges @stream` over multipart/mixed) is read
# in windows, in bounded memory, and may be larger (api/paging/streamed_pages.py).
CONNECTION_MAX_STREAMED_PAGE_SIZE = int(os.environ.get("CONNECTION_MAX_STREAMED_PAGE_SIZE", "1000"))
STREAM_MAX_BATCH_SIZE = 1000

# Limits of one GraphQL request (api/graphql/limits.py; README, "Limits and errors").
GRAPHQL_MAX_DEPTH = int(os.environ.get("GRAPHQL_MAX_DEPTH", "10"))
GRAPHQL_MAX_ALIASES = int(os.environ.get("GRAPHQL_MAX_ALIASES", "30"))
GRAPHQL_MAX_TOKENS = int(os.environ.get("GRAPHQL_MAX_TOKENS", "5000"))
GRAPHQL_INTROSPECTION = env_bool("GRAPHQL_INTROSPECTION", True)
# What a document may cost and how fast a client may spend (api/graphql/cost.py,
# api/rate_limits; README, "Costs and rate limits"). GRAPHQL_MAX_COST: the
# storefront's largest document (a productStream batch of 1000 with category
# and priceIn) costs 3001. Rate limiting is on by default in production: each
# client's bucket holds RATE_LIMIT_CAPACITY points refilled at
# RATE_LIMIT_REFILL_PER_SECOND, staff tokens RATE_LIMIT_STAFF_FACTOR times
# both. RATE_LIMIT_STORE: where the buckets are shared, "redis" (the default
# when REDIS_URL is set) or "database" (otherwise), each process syncing with it
# every RATE_LIMIT_SYNC_SECONDS; "memory" keeps them per process. X-Forwarded-For
# is read only from TRUSTED_PROXIES (addresses or networks). Failed logins:
# LOGIN_MAX_FAILURES per username (and LOGIN_MAX_FAILURES_PER_ADDRESS per
# address), each one forgiven after LOGIN_FAILURE_WINDOW seconds / that many.
GRAPHQL_COST_ANALYSIS = env_bool("GRAPHQL_COST_ANALYSIS", True)
GRAPHQL_MAX_COST = int(os.environ.get("GRAPHQL_MAX_COST", "3500"))
RATE_LIMITING = env_bool("RATE_LIMITING", PRODUCTION)
RATE_LIMIT_CAPACITY = float(os.environ.get("RATE_LIMIT_CAPACITY", "20000"))
RATE_LIMIT_REFILL_PER_SECOND = float(os.environ.get("RATE_LIMIT_REFILL_PER_SECOND", "2000"))
RATE_LIMIT_STAFF_FACTOR = float(os.environ.get("RATE_LIMIT_STAFF_FACTOR", "10"))
RATE_LIMIT_STORE_TIMEOUT = float(os.environ.get("RATE_LIMIT_STORE_TIMEOUT", "0.5"))
RATE_LIMIT_SYNC_SECONDS = float(os.environ.get("RATE_LIMIT_SYNC_SECONDS", "0.1"))
REDIS_URL = os.environ.get("REDIS_URL", "").strip()
RATE_LIMIT_STORE = os.environ.get("RATE_LIMIT_STORE", "").strip() or (
    "redis" if REDIS_URL else "database"
)
if RATE_LIMIT_STORE not in {"redis", "database", "memory"}:
    raise ImproperlyConfigured('RATE_LIMIT_STORE must be "redis", "database" or "memory".')
if RATE_LIMIT_STORE == "redis" and not REDIS_URL:
    raise ImproperlyConfigured("RATE_LIMIT_STORE=redis needs REDIS_URL.")
TRUSTED_PROXIES = env_list("TRUSTED_PROXIES")
LOGIN_MAX_FAILURES = int(os.environ.get("LOGIN_MAX_FAILURES", "5"))
LOGIN_MAX_FAILURES_PER_ADDRESS = int(os.environ.get("LOGIN_MAX_FAILURES_PER_ADDRESS", "20"))
LOGIN_FAILURE_WINDOW = float(os.environ.get("LOGIN_FAILURE_WINDOW", "300"))
if RATE_LIMITING and RATE_LIMIT_CAPACITY < GRAPHQL_MAX_COST:
    raise ImproperlyConfigured(
        "RATE_LIMIT_CAPACITY must be at least GRAPHQL_MAX_COST: a bucket smaller than "
        "an admitted document would never admit it."
    )
# Persisted queries (persisted_queries/; README, "Persisted queries"): when true,
# only documents registered with `manage.py register_documents` run.
GRAPHQL_TRUSTED_DOCUMENTS_ONLY = env_bool("GRAPHQL_TRUSTED_DOCUMENTS_ONLY", False)
# Lists of products, and subscription events, completed by compiled functions where
# their selection allows (api/graphql/compiled.py): auto and on alike, on also logging every fallback to
# graphql-core at WARNING; off: graphql-core completes everything.
GRAPHQL_COMPILED = os.environ.get("GRAPHQL_COMPILED", "auto")
if GRAPHQL_COMPILED not in {"auto", "on", "off"}:
    raise ImproperlyConfigured(
        f"GRAPHQL_COMPILED must be auto, on or off, not {GRAPHQL_COMPILED!r}."
    )
# Larger request bodies are refused with 413 before they are read (api/http/body_limit.py).
GRAPHQL_MAX_BODY_BYTES = int(os.environ.get("GRAPHQL_MAX_BODY_BYTES", str(1024 * 1024)))
# So that a client still sending such a body can read the 413, up to this many
# of its bytes are read and thrown away before the connection is closed.
GRAPHQL_MAX_DISCARD_BYTES = int(os.environ.get("GRAPHQL_MAX_DISCARD_BYTES", str(16 * 1024 * 1024)))

# Streams read in keyset windows of up to this many rows, each on one of
# STREAM_DB_READERS threads with a pooled connection of its own: the most
# connections all streams together hold. Keep it below DB_POOL_MAX_SIZE so
# that HTTP requests always find one.
STREAM_WINDOW_SIZE = int(os.environ.get("STREAM_WINDOW_SIZE", "2000"))
STREAM_DB_READERS = int(os.environ.get("STREAM_DB_READERS", "4"))
# A stream sends batches for at most this long before the next stream's turn
# (api/websocket/turns.py); a client's message holds turns back for at most
# WS_ANSWER_PRIORITY_SECONDS until it is answered (api/websocket/unanswered.py).
STREAM_TURN_SECONDS = float(os.environ.get("STREAM_TURN_SECONDS", "0.002"))
WS_ANSWER_PRIORITY_SECONDS = float(os.environ.get("WS_ANSWER_PRIORITY_SECONDS", "0.5"))

# Prices are stored in CATALOG_CURRENCY; priceIn converts them with the rates
# of an exchange-rates service answering like Frankfurter (unset: none).
CATALOG_CURRENCY = os.environ.get("CATALOG_CURRENCY", "USD").strip().upper()
EXCHANGE_RATES_URL = os.environ.get("EXCHANGE_RATES_URL", "").strip()
EXCHANGE_RATES_TTL = float(os.environ.get("EXCHANGE_RATES_TTL", "3600"))
EXCHANGE_RATES_TIMEOUT = float(os.environ.get("EXCHANGE_RATES_TIMEOUT", "2"))

# The change log (products.changes) that live streams tail: every process
# reads it at least every CHANGE_LOG_POLL_INTERVAL seconds besides the
# wake-ups after commits; it keeps changes CHANGE_LOG_RETENTION seconds (a
# resume token older than that has expired), pruned every
# CHANGE_LOG_PRUNE_INTERVAL seconds by the server (0: never; run
# `manage.py prune_change_log` instead). PostgreSQL's notifications go
# through DATABASE_NOTIFICATIONS_URL where set (behind a transaction-pooling
# proxy: straight to PostgreSQL), else DATABASE_URL.
CHANGE_LOG_POLL_INTERVAL = float(os.environ.get("CHANGE_LOG_POLL_INTERVAL", "1"))
CHANGE_LOG_RETENTION = float(os.environ.get("CHANGE_LOG_RETENTION", str(24 * 3600)))
CHANGE_LOG_PRUNE_INTERVAL = float(os.environ.get("CHANGE_LOG_PRUNE_INTERVAL", "600"))
DATABASE_NOTIFICATIONS_URL = os.environ.get("DATABASE_NOTIFICATIONS_URL", "").strip()

# Websockets (README, "Websocket limits"). A client has this many seconds to
# send connection_init (else 4408); runs at most WS_MAX_SUBSCRIPTIONS
# operations at once on one connection (one more is an error for that
# operation alone); sends messages of at most WS_MAX_MESSAGE_BYTES (else 1009).
WS_CONNECTION_INIT_TIMEOUT = float(os.environ.get("WS_CONNECTION_INIT_TIMEOUT", "10"))
WS_MAX_SUBSCRIPTIONS = int(os.environ.get("WS_MAX_SUBSCRIPTIONS", "100"))
WS_MAX_MESSAGE_BYTES = int(os.environ.get("WS_MAX_MESSAGE_BYTES", str(1024 * 1024)))
# A live subscriber that falls behind is closed with 1013 (products.live): when
# more than LIVE_MAX_PENDING changes wait for it, or when changes wait and it
# has been stuck sending for LIVE_STALL_TIMEOUT seconds.
LIVE_MAX_PENDING = int(os.environ.get("LIVE_MAX_PENDING", "100000"))
LIVE_STALL_TIMEOUT = float(os.environ.get("LIVE_STALL_TIMEOUT", "30"))

# The live catalog page at /demo/ (storefront/), on unless in production.
DEMO_PAGE = env_bool("DEMO_PAGE", not PRODUCTION)

# Subscriptions streamed over HTTP (SSE, multipart; api/http/subscriptions.py)
# send a heartbeat after this many quiet seconds, so that proxies and load
# balancers that close idle responses keep them open.
HTTP_STREAM_HEARTBEAT_SECONDS = float(os.environ.get("HTTP_STREAM_HEARTBEAT_SECONDS", "15"))

# Operations (README, "Metrics and traces"). GET /metrics when METRICS_ENABLED,
# answering only scrapes that send `Authorization: Bearer <METRICS_TOKEN>` when
# that is set; operation names beyond the first METRICS_MAX_OPERATION_NAMES a
# process sees are labelled "other". With several worker processes,
# PROMETHEUS_MULTIPROC_DIR names an empty directory they share (`make serve`
# makes one), and each samples its pool and feeds every METRICS_SAMPLE_INTERVAL
# seconds. Traces go over OTLP/HTTP when OTEL_EXPORTER_OTLP_ENDPOINT (or
# OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) is set, and nothing traces otherwise; a
# span holds the GraphQL document only with OTEL_GRAPHQL_INCLUDE_DOCUMENT.
METRICS_ENABLED = env_bool("METRICS_ENABLED", True)
METRICS_TOKEN = os.environ.get("METRICS_TOKEN", "").strip()
METRICS_MAX_OPERATION_NAMES = int(os.environ.get("METRICS_MAX_OPERATION_NAMES", "50"))
METRICS_SAMPLE_INTERVAL = float(os.environ.get("METRICS_SAMPLE_INTERVAL", "5"))
TRACING_ENABLED = not env_bool("OTEL_SDK_DISABLED", False) and bool(
    os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
    or os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
)
TRACING_INCLUDE_DOCUMENT = env_bool("OTEL_GRAPHQL_INCLUDE_DOCUMENT", False)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        # Access lines are JSON already (api.logs).
        "bare": {"format": "%(message)s"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain"},
        "access": {"class": "logging.StreamHandler", "formatter": "bare"},
    },
    "loggers": {
        "conveyor.access": {
            "handlers": ["access"],
            "level": os.environ.get("ACCESS_LOG_LEVEL", "INFO"),
            "propagate": False,
        },
        # uvicorn's text line per request would repeat the JSON one. This is
        # what its --no-access-log does, done here so that however the server
        # is started, each request is logged once: Django is set up when
        # uvicorn imports the application, before it takes any connection.
        "uvicorn.access": {"handlers": [], "propagate": False},
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
}
