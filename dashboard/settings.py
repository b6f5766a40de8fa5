"""Settings, read from environment variables (see README: Configuration)."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in ("1", "true", "yes", "on")


def env_float(name: str, default: float) -> float:
    try:
        return float(os.environ.get(name, "") or default)
    except ValueError:
        return default


DATA_DIR = Path(os.environ.get("DASHBOARD_DATA_DIR") or BASE_DIR / "var")
DATA_DIR.mkdir(parents=True, exist_ok=True)


def _secret_key() -> str:
    """DASHBOARD_SECRET_KEY, or one generated once and kept in the data directory."""
    if key := os.environ.get("DASHBOARD_SECRET_KEY"):
        return key
    path = DATA_DIR / "secret_key"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        key = secrets.token_urlsafe(50)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(key)
        return key


SECRET_KEY = _secret_key()
DEBUG = env_bool("DASHBOARD_DEBUG")
ALLOWED_HOSTS = [
    h.strip()
    for h in os.environ.get("DASHBOARD_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]").split(",")
    if h.strip()
]
CSRF_TRUSTED_ORIGINS = [
    o.strip() for o in os.environ.get("DASHBOARD_CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()
]

INSTALLED_APPS = [
    "daphne",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "django_htmx",
    "dashboard",
]

MIDDLEWARE = [
    "dashboard.metrics.MetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "dashboard.middleware.SecurityHeadersMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # A trusted proxy's user (DASHBOARD_FORWARD_AUTH_TRUSTED), before the login is required.
    "dashboard.forward_auth.ForwardAuthMiddleware",
    "dashboard.middleware.AuditFallbackMiddleware",
    # Every view needs a login unless it says otherwise (@login_not_required).
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "dashboard.middleware.EngineErrorMiddleware",
]

ROOT_URLCONF = "dashboard.urls"
ASGI_APPLICATION = "dashboard.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "dashboard.context_processors.hosts",
                "dashboard.context_processors.alerts",
            ],
        },
    },
]

DATABASES: dict[str, dict[str, Any]] = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("DASHBOARD_DB") or DATA_DIR / "dashboard.sqlite3",
        # Seconds a request waits for a locked SQLite database before its page says so.
        "OPTIONS": {"timeout": env_float("DASHBOARD_DB_TIMEOUT", 10.0)},
    }
}
# Several processes share one PostgreSQL database (README: Running several processes).
if DATABASE_URL := os.environ.get("DATABASE_URL", ""):
    import dj_database_url

    DATABASES["default"] = dict(dj_database_url.parse(DATABASE_URL, conn_max_age=60))
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# A viewer that falls behind by this many batches loses the oldest (its browser would drop
# them anyway: it keeps a bounded number of lines).
CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "dashboard.layers.CountingInMemoryChannelLayer",
        "CONFIG": {"capacity": 1000},
    }
}
# Several processes share one Redis channel layer: a viewer on any process gets what a stream
# opened by another sends.
if REDIS_URL := os.environ.get("REDIS_URL", ""):
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL], "capacity": 1000},
        }
    }

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "login"
# Logins are refused for a while after this many failures for one account (or from one
# address) within the window.
LOGIN_FAILURE_LIMIT = int(env_float("DASHBOARD_LOGIN_FAILURE_LIMIT", 5))
LOGIN_ADDRESS_FAILURE_LIMIT = int(env_float("DASHBOARD_LOGIN_ADDRESS_FAILURE_LIMIT", 20))
LOGIN_FAILURE_WINDOW = env_float("DASHBOARD_LOGIN_FAILURE_WINDOW", 900)
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
# Per process, in memory, also with Redis: what goes in is cheap to make again, and a round
# trip per fragment would cost more than rendering it. `template_fragments` holds rendered
# list rows under a digest of what they show ({% cache %} in projects/_rows.html).
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    "template_fragments": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": "fragments",
        "OPTIONS": {"MAX_ENTRIES": 5000},
    },
}

TIME_ZONE = os.environ.get("DASHBOARD_TIME_ZONE", "UTC")
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
# The container image collects static files at build time into DASHBOARD_STATIC_ROOT (outside
# the /data volume, so an upgraded image never serves the old ones a volume kept).
STATIC_ROOT = Path(os.environ.get("DASHBOARD_STATIC_ROOT") or DATA_DIR / "static")
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
# Served from the package directories without a collectstatic step (one process, no proxy);
# not where they were collected.
WHITENOISE_USE_FINDERS = not os.environ.get("DASHBOARD_STATIC_ROOT")
WHITENOISE_AUTOREFRESH = DEBUG

SESSION_COOKIE_HTTPONLY = True
# Pages carry the CSRF token themselves (hx-headers); no script needs the cookie.
CSRF_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if env_bool("DASHBOARD_HTTPS"):
    # Served over HTTPS (directly or behind a proxy that sets X-Forwarded-Proto).
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = int(env_float("DASHBOARD_HSTS_SECONDS", 31536000))
    SECURE_SSL_REDIRECT = env_bool("DASHBOARD_SSL_REDIRECT", True)
# Request bodies (forms) and the number of fields; image uploads have their own limit below.
DATA_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
DATA_UPLOAD_MAX_NUMBER_FIELDS = 2000
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024

# The engine the first host talks to, and how long to wait for it.
DOCKER_HOST = os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"
DASHBOARD_HOST_NAME = os.environ.get("DASHBOARD_HOST_NAME", "local")
# More engines beside DOCKER_HOST: "name=url" pairs, e.g. "podman=unix:///run/dl/p.sock".
DASHBOARD_HOSTS = os.environ.get("DASHBOARD_HOSTS", "")
ENGINE_TIMEOUT = env_float("DASHBOARD_ENGINE_TIMEOUT", 10.0)
ENGINE_CONNECT_TIMEOUT = env_float("DASHBOARD_ENGINE_CONNECT_TIMEOUT", 3.0)
# A bearer token that lets a scraper read /metrics without a login (admins may always).
METRICS_TOKEN = os.environ.get("DASHBOARD_METRICS_TOKEN", "")

# Structured logs: one line per record, `key=value` pairs (DASHBOARD_LOG_FORMAT=kv, the
# default) or one JSON object (json); `text` for the plain message.
LOG_FORMAT = os.environ.get("DASHBOARD_LOG_FORMAT", "kv")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "structured": {"()": "dashboard.logs.StructuredFormatter", "style_name": LOG_FORMAT}
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "structured"}},
    "root": {"handlers": ["console"], "level": os.environ.get("DASHBOARD_LOG_LEVEL", "INFO")},
    "loggers": {"django.request": {"level": "ERROR"}},
}

# Live streams: how long lines are gathered before they are sent, how long an unwatched
# stream stays open, how often the containers list samples CPU and memory.
STREAM_BATCH_SECONDS = env_float("DASHBOARD_STREAM_BATCH_SECONDS", 0.03)
STREAM_LINGER_SECONDS = env_float("DASHBOARD_STREAM_LINGER_SECONDS", 5.0)
# On Redis, a log, stats or events stream is read by one process for all (streams/shared.py):
# the one holding its lease, renewed every second; another takes over within about this.
STREAM_LEASE_SECONDS = env_float("DASHBOARD_STREAM_LEASE_SECONDS", 3.0)
LIST_STATS_INTERVAL = env_float("DASHBOARD_LIST_STATS_INTERVAL", 5.0)
# The containers list's "errors in the last hour": the lines it counts (a regex, any case),
# and how long a count is kept before the engine is read again.
LOG_ERROR_PATTERN = os.environ.get(
    "DASHBOARD_LOG_ERROR_PATTERN", r"\b(error|err|fatal|panic|exception|critical)\b"
)
LOG_ERROR_CACHE_SECONDS = env_float("DASHBOARD_LOG_ERROR_CACHE_SECONDS", 60.0)
# How often the hosts page looks at each engine while someone watches it.
HOST_HEALTH_INTERVAL = env_float("DASHBOARD_HOST_HEALTH_INTERVAL", 5.0)

# Registry passwords are stored encrypted with this key (any text; derived from SECRET_KEY
# when unset, so changing SECRET_KEY then makes saved passwords unreadable).
CREDENTIALS_KEY = os.environ.get("DASHBOARD_CREDENTIALS_KEY", "")
# The largest image archive an upload (load or import) may be, in bytes.
IMAGE_UPLOAD_MAX_BYTES = int(env_float("DASHBOARD_IMAGE_UPLOAD_MAX_BYTES", 2 * 1024**3))

# Compose projects the dashboard deploys: one folder per host and project (compose.yaml and
# .env, plain files the CLI can use too), and the compose v2 binary that runs them (found on
# PATH as the `docker compose` plugin or `docker-compose` when unset). A run that takes longer
# than COMPOSE_TIMEOUT seconds is ended (its whole process group).
STACKS_DIR = Path(os.environ.get("DASHBOARD_STACKS_DIR") or DATA_DIR / "stacks")
COMPOSE_BIN = os.environ.get("DASHBOARD_COMPOSE_BIN", "")
COMPOSE_TIMEOUT = env_float("DASHBOARD_COMPOSE_TIMEOUT", 600.0)

# Swarm stacks are deployed with the docker CLI (`docker stack deploy`): DASHBOARD_DOCKER_BIN
# names it, else `docker` on PATH. A stack run that takes longer than STACK_TIMEOUT seconds
# is ended (its whole process group). The CLI gets a config folder of the dashboard's own.
DOCKER_BIN = os.environ.get("DASHBOARD_DOCKER_BIN", "")
STACK_TIMEOUT = env_float("DASHBOARD_STACK_TIMEOUT", 300.0)
DOCKER_CLI_CONFIG_DIR = DATA_DIR / "docker-cli"

# Alerts (docs/alerts.md). The watcher starts with the server process (dashboard/asgi.py).
ALERTS_WATCH = env_bool("DASHBOARD_ALERTS_WATCH", True)
ALERTS_LEASE_SECONDS = env_float("DASHBOARD_ALERTS_LEASE_SECONDS", 10.0)
ALERTS_GROUP_SECONDS = env_float("DASHBOARD_ALERTS_GROUP_SECONDS", 3.0)
ALERTS_TIMEOUT = env_float("DASHBOARD_ALERTS_TIMEOUT", 10.0)
# Seconds between CPU/memory samples of the containers a threshold rule covers.
ALERTS_STATS_INTERVAL = env_float("DASHBOARD_ALERTS_STATS_INTERVAL", 10.0)
# Seconds between `system df` reads of each host while a disk rule exists.
ALERTS_DISK_INTERVAL = env_float("DASHBOARD_ALERTS_DISK_INTERVAL", 300.0)
# Seconds between reads of a manager's nodes and services while a swarm rule exists.
ALERTS_SWARM_INTERVAL = env_float("DASHBOARD_ALERTS_SWARM_INTERVAL", 10.0)
ALERTS_RETRY_DELAYS = (2.0, 10.0, 30.0)
# The port daphne serves on: no channel may point at the dashboard itself.
DASHBOARD_PORT = int(env_float("DASHBOARD_PORT", 8000))

# The Ctrl/Cmd-K palette (dashboard/palette.py): how long one search waits for each host
# (a host that takes longer is reported as timed out; its read goes on and fills the cache),
# and how many seconds what a host holds is reused while a person types.
PALETTE_HOST_BUDGET = env_float("DASHBOARD_PALETTE_HOST_BUDGET", 1.0)
PALETTE_TTL = env_float("DASHBOARD_PALETTE_TTL", 5.0)
# Image update checks (dashboard/image_updates.py): a registry is asked about a reference at
# most once per IMAGE_UPDATE_INTERVAL seconds (default 6 h: Docker Hub counts manifest reads
# against its rate limit) unless someone asks for a check; the watcher's lease holder runs
# the periodic checks. An update waits IMAGE_UPDATE_TIMEOUT seconds for the new container to
# run (and be healthy, if it has a healthcheck) before rolling back.
IMAGE_UPDATE_INTERVAL = env_float("DASHBOARD_IMAGE_UPDATE_INTERVAL", 21600.0)
IMAGE_UPDATE_TIMEOUT = env_float("DASHBOARD_IMAGE_UPDATE_TIMEOUT", 60.0)

# -- API tokens and webhooks (issue 19) ------------------------------------------------------
# The longest a personal API token may live, in days (each token has an expiry, at most this).
DASHBOARD_API_TOKEN_MAX_DAYS = int(os.environ.get("DASHBOARD_API_TOKEN_MAX_DAYS", "365"))

# Sign-in (README: Single sign-on and forward-auth): `local` (passwords), `oidc` (OpenID
# Connect only; local passwords only for break-glass admins made from the command line), or
# `forward` (a trusted proxy names the user in headers). With DASHBOARD_OIDC_ISSUER set in
# `local` mode, the login page offers both. Parsed and checked in dashboard/oidc.py.
AUTH_MODE = os.environ.get("DASHBOARD_AUTH_MODE", "local").strip().lower() or "local"
OIDC_ISSUER = os.environ.get("DASHBOARD_OIDC_ISSUER", "").strip().rstrip("/")
OIDC_NAME = os.environ.get("DASHBOARD_OIDC_NAME", "").strip() or "single sign-on"
OIDC_CLIENT_ID = os.environ.get("DASHBOARD_OIDC_CLIENT_ID", "")
OIDC_CLIENT_SECRET = os.environ.get("DASHBOARD_OIDC_CLIENT_SECRET", "")
OIDC_SCOPES = os.environ.get("DASHBOARD_OIDC_SCOPES", "").strip() or "openid profile email groups"
OIDC_GROUPS_CLAIM = os.environ.get("DASHBOARD_OIDC_GROUPS_CLAIM", "").strip() or "groups"
# A CA bundle for a provider whose certificate a private CA signed (else the system's).
OIDC_CA_BUNDLE = os.environ.get("DASHBOARD_OIDC_CA_BUNDLE", "").strip()
OIDC_ROLE_MAP = os.environ.get("DASHBOARD_OIDC_ROLE_MAP", "")
OIDC_HOST_MAP = os.environ.get("DASHBOARD_OIDC_HOST_MAP", "")
OIDC_CREATE_USERS = env_bool("DASHBOARD_OIDC_CREATE_USERS")
OIDC_TIMEOUT = env_float("DASHBOARD_OIDC_TIMEOUT", 10.0)
# Forward-auth (dashboard/forward_auth.py): headers believed only from these CIDRs; the role
# and host maps are the OIDC ones.
FORWARD_AUTH_TRUSTED = os.environ.get("DASHBOARD_FORWARD_AUTH_TRUSTED", "").strip()
FORWARD_AUTH_USER_HEADER = (
    os.environ.get("DASHBOARD_FORWARD_AUTH_USER_HEADER", "").strip() or "Remote-User"
)
FORWARD_AUTH_GROUPS_HEADER = (
    os.environ.get("DASHBOARD_FORWARD_AUTH_GROUPS_HEADER", "").strip() or "Remote-Groups"
)
FORWARD_AUTH_CREATE_USERS = env_bool("DASHBOARD_FORWARD_AUTH_CREATE_USERS")
